package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// CLIActor is the actor id the audit log records for changes made with
// `ordersuite flags`: the operator at the command line has no account.
const CLIActor = "00000000-0000-0000-0000-000000000000"

// flagScope is where a flags subcommand acts: one restaurant or the
// platform defaults.
type flagScope struct {
	restaurant string
	global     bool
}

func (sc *flagScope) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&sc.restaurant, "restaurant", "", "restaurant id to act on")
	cmd.Flags().BoolVar(&sc.global, "global", false, "act on the platform default instead of one restaurant")
}

// context checks the scope and returns a context acting as the operator on
// it, so that changes are audited.
func (sc *flagScope) context(ctx context.Context, db *store.DB, listing bool) (context.Context, error) {
	ctx = tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: CLIActor, Role: tenancy.SuperAdmin, IP: "cli"})
	switch {
	case sc.global && sc.restaurant != "":
		return nil, errors.New("give either --restaurant or --global, not both")
	case sc.global:
		return ctx, nil
	case sc.restaurant == "" && listing:
		return ctx, nil // the platform defaults alone
	case sc.restaurant == "":
		return nil, errors.New("give --restaurant ID or --global")
	}
	if _, err := db.Restaurant(ctx, sc.restaurant); err != nil {
		return nil, fmt.Errorf("restaurant %s: %w", sc.restaurant, err)
	}
	return tenancy.WithTenant(ctx, sc.restaurant), nil
}

func (a *app) flagsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flags",
		Short: "List and change feature flags (running servers see changes within a second)",
	}
	cmd.AddCommand(a.flagsListCmd(), a.flagsSetCmd("enable"), a.flagsSetCmd("disable"), a.flagsSetCmd("set-percentage"), a.sdkKeyCmd())
	return cmd
}

// withFlags opens the database and a flag service for one command.
func (a *app) withFlags(cmd *cobra.Command, fn func(db *store.DB, svc *flags.Service) error) error {
	return a.withDB(cmd, func(_ context.Context, db *store.DB) error {
		return fn(db, flags.New(db, flags.Options{Log: a.log}))
	})
}

func (a *app) flagsListCmd() *cobra.Command {
	var sc flagScope
	cmd := &cobra.Command{
		Use:   "list [--restaurant ID | --global]",
		Short: "List a restaurant's effective flags, or the platform defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withFlags(cmd, func(db *store.DB, svc *flags.Service) error {
				ctx, err := sc.context(cmd.Context(), db, true)
				if err != nil {
					return err
				}
				l, err := svc.List(ctx)
				if err != nil {
					return err
				}
				rows := l.Effective
				if sc.global || sc.restaurant == "" {
					rows = l.Global
				}
				printFlags(cmd.OutOrStdout(), rows)
				return nil
			})
		},
	}
	sc.register(cmd)
	return cmd
}

func flagExists(ctx context.Context, svc *flags.Service, key string, global bool) (bool, error) {
	l, err := svc.List(ctx)
	if err != nil {
		return false, err
	}
	rows := l.Tenant
	if global {
		rows = l.Global
	}
	for _, f := range rows {
		if f.Key == key {
			return true, nil
		}
	}
	return false, nil
}

func printFlags(w io.Writer, fs []store.FeatureFlag) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSCOPE\tENABLED\tPERCENTAGE\tVARIANTS\tDESCRIPTION")
	for _, f := range fs {
		scope, pct := "restaurant", "-"
		if f.Global {
			scope = "global"
		}
		if f.Percentage != nil {
			pct = strconv.Itoa(*f.Percentage) + "%"
		}
		var vs []string
		for _, v := range f.Variants {
			vs = append(vs, fmt.Sprintf("%s:%d", v.Key, v.Weight))
		}
		variants := strings.Join(vs, ",")
		if variants == "" {
			variants = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", f.Key, scope, f.Enabled, pct, variants, f.Description)
	}
	tw.Flush()
}

// flagsSetCmd builds enable, disable and set-percentage.
func (a *app) flagsSetCmd(verb string) *cobra.Command {
	var sc flagScope
	var percentage int
	use, short, args := verb+" KEY", "", cobra.ExactArgs(1)
	switch verb {
	case "enable":
		short = "Turn a flag on (for everyone, or for --percentage of entities), creating it if needed"
	case "disable":
		short = "Turn a flag off and clear its percentage, creating it if needed"
	case "set-percentage":
		use, short, args = verb+" KEY PERCENTAGE", "Roll a flag out to PERCENTAGE (0–100) of entities; an existing flag stays on or off, a new one starts on", cobra.ExactArgs(2)
	}
	cmd := &cobra.Command{
		Use:   use + " (--restaurant ID | --global)",
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withFlags(cmd, func(db *store.DB, svc *flags.Service) error {
				ctx, err := sc.context(cmd.Context(), db, false)
				if err != nil {
					return err
				}
				var f store.FeatureFlag
				switch verb {
				case "enable":
					var p *int
					if cmd.Flags().Changed("percentage") {
						p = &percentage
					}
					f, err = svc.Enable(ctx, args[0], sc.global, p)
				case "disable":
					f, err = svc.Disable(ctx, args[0], sc.global)
				case "set-percentage":
					n, perr := strconv.Atoi(args[1])
					if perr != nil {
						return fmt.Errorf("PERCENTAGE must be an integer from 0 to 100, not %q", args[1])
					}
					c := flags.Change{Percentage: &n}
					if exists, lerr := flagExists(ctx, svc, args[0], sc.global); lerr != nil {
						return lerr
					} else if !exists {
						on := true // a new rollout starts on; an existing flag keeps its state
						c.Enabled = &on
					}
					f, err = svc.Set(ctx, args[0], sc.global, c)
				}
				if err != nil {
					return err
				}
				printFlags(cmd.OutOrStdout(), []store.FeatureFlag{f})
				return nil
			})
		},
	}
	sc.register(cmd)
	if verb == "enable" {
		cmd.Flags().IntVar(&percentage, "percentage", 0, "roll out to this percentage (0–100) of entities")
	}
	return cmd
}
