package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// sdkKeyCmd manages a restaurant's SDK keys: credentials that may only
// evaluate its feature flags (OFREP and the evaluation endpoint).
func (a *app) sdkKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sdk-key",
		Short: "Create, list and revoke a restaurant's SDK keys (flag evaluation only; revocation reaches running servers within a second)",
	}
	var restaurant string
	withTenant := func(cmd *cobra.Command, fn func(ctx context.Context, db *store.DB) error) error {
		return a.withDB(cmd, func(_ context.Context, db *store.DB) error {
			if restaurant == "" {
				return errors.New("give --restaurant ID")
			}
			sc := flagScope{restaurant: restaurant}
			ctx, err := sc.context(cmd.Context(), db, false)
			if err != nil {
				return err
			}
			return fn(ctx, db)
		})
	}
	create := &cobra.Command{
		Use:   "create NAME --restaurant ID",
		Short: "Create a key; it is printed once and cannot be shown again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenant(cmd, func(ctx context.Context, db *store.DB) error {
				k, key, err := (&auth.Service{DB: db}).CreateSDKKey(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "id:   %s\nname: %s\nkey:  %s\n\nStore the key now: it is not kept and cannot be shown again.\n", k.ID, k.Name, key)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list --restaurant ID",
		Short: "List the restaurant's keys with their last use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTenant(cmd, func(ctx context.Context, db *store.DB) error {
				keys, err := db.SDKKeys(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
				at := func(t *time.Time) string {
					if t == nil {
						return "-"
					}
					return t.Format(time.RFC3339)
				}
				for _, k := range keys {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.CreatedAt.Format(time.RFC3339), at(k.LastUsedAt), at(k.RevokedAt))
				}
				return tw.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke KEY_ID --restaurant ID",
		Short: "Revoke a key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenant(cmd, func(ctx context.Context, db *store.DB) error {
				k, err := db.RevokeSDKKey(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s)\n", k.ID, k.Name)
				return nil
			})
		},
	}
	cmd.PersistentFlags().StringVar(&restaurant, "restaurant", "", "restaurant id")
	cmd.AddCommand(create, list, revoke)
	return cmd
}
