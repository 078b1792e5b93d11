// Package cli is the ordersuite command line: one binary whose subcommands
// share the configuration of serve. Commands write to the writers cobra
// gives them, so tests run them in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/shimizu-tech/ordersuite/internal/config"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Version is set at build time with -ldflags "-X …/cli.Version=v1.2.3".
var Version = "dev"

// app carries what every subcommand needs.
type app struct {
	cfg *config.Config
	log *slog.Logger
	// metrics are served by serve; other commands count into them too, so
	// one code path reports a failing backup destination.
	metrics *metrics.Metrics
}

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	return newRoot(&app{metrics: metrics.New()})
}

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "ordersuite",
		Short:         "Shimizu Order Suite: multi-tenant restaurant backend",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := config.ApplyEnv(cmd.Flags()); err != nil {
				return err
			}
			if err := checkText(cmd, args); err != nil {
				return err
			}
			log, err := a.cfg.Logger(os.Stderr)
			if err != nil {
				return err
			}
			a.log = log
			return nil
		},
	}
	a.cfg = config.Register(root.PersistentFlags())
	root.AddCommand(
		a.serveCmd(),
		a.migrateCmd(),
		a.seedDemoCmd(),
		a.createAdminCmd(),
		a.flagsCmd(),
		a.eventsCmd(),
		versionCmd(),
		openapiCmd(),
		a.backupCmd(),
		a.restoreCmd(),
		a.emergencyCmd(),
		a.drillCmd(),
		a.apiKeyCmd(),
	)
	return root
}

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// open connects to the configured database and, when migrate is true,
// brings its schema up to date; otherwise an outdated schema is an error.
func (a *app) open(ctx context.Context, migrate bool) (*store.DB, error) {
	db, err := store.Open(ctx, a.cfg.Database(), store.Options{})
	if err != nil {
		return nil, err
	}
	if migrate {
		err = migrateAll(ctx, db)
	} else {
		err = db.CheckSchema(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// withDB runs fn with the configured database (schema current), closed after.
func (a *app) withDB(cmd *cobra.Command, fn func(ctx context.Context, db *store.DB) error) error {
	ctx := cmd.Context()
	db, err := a.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, db)
}

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := store.Open(cmd.Context(), a.cfg.Database(), store.Options{})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := migrateAll(cmd.Context(), db); err != nil {
				return err
			}
			current, _, err := db.SchemaStatus(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s schema at version %d\n", db.Engine, current)
			return nil
		},
	}
}

// migrateAll applies the product's migrations and then the job queue's.
func migrateAll(ctx context.Context, db *store.DB) error {
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	return jobs.Migrate(ctx, db)
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "ordersuite %s\n", versionString())
			return nil
		},
	}
}

func versionString() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + info.GoVersion
	}
	return v
}

var errUsage = errors.New("usage")

// checkText refuses arguments and flag values that are not text (invalid
// UTF-8 or a NUL): they would reach the database, which on PostgreSQL
// refuses them midway and on SQLite stores them.
func checkText(cmd *cobra.Command, args []string) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }
	for i, arg := range args {
		if bad(arg) {
			return fmt.Errorf("argument %d is not valid UTF-8 text (or holds a NUL)", i+1)
		}
	}
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err == nil && bad(f.Value.String()) {
			err = fmt.Errorf("--%s is not valid UTF-8 text (or holds a NUL)", f.Name)
		}
	})
	return err
}
