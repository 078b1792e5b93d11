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
		Use:   "rebuild-rollups [RESTAURANT_ID]",
		Short: "Recompute the hourly rollups of one restaurant (or of every one) from its raw events",
		Long: `Recompute the hourly rollups behind every analytics figure from the raw event log:
after loading events in bulk, or once after an upgrade that adds a figure to the rollups.
Hours whose events retention has pruned keep their rollups. Event writers wait while a
restaurant is rebuilt, so nothing is counted twice; serve may keep running.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
				var ids []string
				if len(args) == 1 {
					if !store.ValidID(args[0]) {
						return fmt.Errorf("restaurant %s: not a restaurant id", args[0])
					}
					if _, err := db.Restaurant(ctx, args[0]); err != nil {
						return fmt.Errorf("restaurant %s: %w", args[0], err)
					}
					ids = args
				} else {
					rs, err := db.Restaurants(ctx)
					if err != nil {
						return err
					}
					for _, r := range rs {
						ids = append(ids, r.ID)
					}
				}
				for _, id := range ids {
					if err := db.RebuildEventRollups(tenancy.WithTenant(ctx, id)); err != nil {
						return fmt.Errorf("restaurant %s: %w", id, err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "rebuilt the rollups of restaurant %s\n", id)
				}
				return nil
			})
		},
	})
	return cmd
}
