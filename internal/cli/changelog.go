package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// shipChangesCmd ships the change log once, or every --every until
// stopped: what serve does every --changes-ship-interval, for installations
// that run it from cron or want to catch up by hand.
func (a *app) shipChangesCmd() *cobra.Command {
	var every time.Duration
	var segmentChanges int
	cmd := &cobra.Command{
		Use:   "ship-changes",
		Short: "Ship each restaurant's new changes to the backup destinations as change log segments (once, or --every)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withBackups(cmd, func(ctx context.Context, db *store.DB, svc *backup.Service) error {
				s := &changelog.Shipper{DB: db, Objects: svc.ChangeObjects(), Log: a.log, MaxChanges: segmentChanges}
				for {
					res, err := s.Ship(ctx)
					switch {
					case errors.Is(err, store.ErrLockHeld):
						fmt.Fprintln(cmd.ErrOrStderr(), "another instance is shipping")
					case err != nil:
						return err
					case every == 0:
						fmt.Fprintf(cmd.OutOrStdout(), "%d segments shipped; every change up to %s\n", len(res.Segments), res.Cut.At.Format(time.RFC3339Nano))
					}
					if every == 0 {
						return nil
					}
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(every):
					}
				}
			})
		},
	}
	cmd.Flags().DurationVar(&every, "every", 0, "ship again after this long, until stopped (0: once)")
	cmd.Flags().IntVar(&segmentChanges, "segment-changes", changelog.MaxSegmentChanges, "most changes in one segment (a larger transaction is still shipped whole)")
	return cmd
}
