package backup

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// DrillReport is the outcome of a recovery drill.
type DrillReport struct {
	RestaurantID string         `json:"restaurant_id"`
	BackupID     string         `json:"backup_id"`
	ScratchID    string         `json:"scratch_restaurant_id"`
	Rows         map[string]int `json:"rows"`
	Differences  []string       `json:"differences"`
	// RTOSeconds is how long backing up and restoring took: the recovery
	// time a real restore of this tenant would need.
	RTOSeconds float64 `json:"rto_seconds"`
	// RPOSeconds is the age of the newest backup before the drill: the data
	// a disaster at that moment would have lost. -1 when there was none.
	RPOSeconds   float64   `json:"rpo_seconds"`
	NewestBackup string    `json:"newest_backup_before_drill,omitempty"`
	At           time.Time `json:"at"`
}

// OK reports whether the restored copy matched the tenant exactly.
func (r DrillReport) OK() bool { return len(r.Differences) == 0 }

// Drill backs a tenant up, restores the backup into a scratch tenant,
// compares every table row by row (ignoring restaurant_id), deletes the
// scratch tenant, and reports RTO and RPO.
func (s *Service) Drill(ctx context.Context, restaurantID string, progress Progress) (DrillReport, error) {
	rep := DrillReport{RestaurantID: restaurantID, Rows: map[string]int{}, Differences: []string{}, RPOSeconds: -1, At: s.DB.Now()}
	src, err := s.DB.Restaurant(ctx, restaurantID)
	if err != nil {
		return rep, err
	}
	if all, err := s.List(ctx, restaurantID); err == nil && len(Own(all)) > 0 {
		prev := Own(all)
		rep.NewestBackup = prev[0].ID
		rep.RPOSeconds = rep.At.Sub(prev[0].CreatedAt).Seconds()
	}
	start := time.Now()
	progress.report(5, "backing up %s", src.Name)
	b, err := s.export(ctx, restaurantID, "drill", ReasonDrill, nil)
	if err != nil {
		return rep, err
	}
	rep.BackupID = b.ID
	progress.report(40, "restoring %s into a scratch tenant", b.ID)
	stats, err := s.Restore(ctx, b.ID, ImportOptions{NewName: "drill scratch of " + src.Name}, nil)
	if err != nil {
		return rep, err
	}
	rep.RTOSeconds = time.Since(start).Seconds()
	rep.ScratchID = stats.RestaurantID
	defer func() {
		if derr := s.DB.DeleteRestaurant(context.WithoutCancel(ctx), rep.ScratchID); derr != nil {
			rep.Differences = append(rep.Differences, "scratch tenant not deleted: "+derr.Error())
		}
	}()
	progress.report(80, "comparing every table")
	// Both tenants are read now: a tenant written to during the drill shows
	// up as a difference (run drills on a quiet tenant or hour). The two are
	// read side by side, a page of each at a time, on one connection, so a
	// drill of a large tenant takes no more memory than a small one and
	// never waits for a second connection.
	for _, table := range store.CopyTables() {
		var inTenant, restored int
		differs := ""
		err := s.DB.EachTenantRowPair(ctx, table, restaurantID, rep.ScratchID, func(cols []string, a, c []any) error {
			if a != nil {
				inTenant++
			}
			if c != nil {
				restored++
			}
			if differs != "" || a == nil || c == nil {
				return nil
			}
			for i, col := range cols {
				if col == "restaurant_id" || table == "restaurants" && (col == "id" || col == "name") {
					continue
				}
				if !reflect.DeepEqual(a[i], c[i]) {
					differs = fmt.Sprintf("%s: row %v differs after restore", table, a[slices.Index(cols, "id")])
					break
				}
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		rep.Rows[table] = inTenant
		switch {
		case inTenant != restored:
			rep.Differences = append(rep.Differences, fmt.Sprintf("%s: %d rows in the tenant, %d restored", table, inTenant, restored))
		case differs != "":
			rep.Differences = append(rep.Differences, differs)
		}
	}
	progress.report(100, "drill done")
	return rep, nil
}
