package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func (a *app) eventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Maintain the tenant event log: prune old events, rebuild usage rollups",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "prune",
		Short: "Delete events older than --event-retention now (serve does it every --event-prune-interval)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
				r := &analytics.Retention{DB: db, Log: a.log, MaxAge: a.cfg.EventRetention}
				n, err := r.Prune(ctx)
				if errors.Is(err, store.ErrLockHeld) {
					return errors.New("another instance is pruning right now; try again later")
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "pruned %d events older than %s\n", n, max(a.cfg.EventRetention, analytics.MinRetention))
				return nil
			})
		},
	}, &cobra.Command{
		Use:   "rebuild-rollups RESTAURANT_ID",
		Short: "Recompute a restaurant's usage rollups from its events (after loading events in bulk)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
				if _, err := db.Restaurant(ctx, args[0]); err != nil {
					return fmt.Errorf("restaurant %s: %w", args[0], err)
				}
				if err := db.RebuildEventRollups(tenancy.WithTenant(ctx, args[0])); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rebuilt the usage rollups of restaurant %s\n", args[0])
				return nil
			})
		},
	})
	return cmd
}
