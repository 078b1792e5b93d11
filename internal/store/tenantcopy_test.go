package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// eventSource is a tenant of one restaurant and n events; spoil, when set,
// changes the event at index i (or fails the source there).
type eventSource struct {
	n     int
	spoil func(i int, row map[string]any) error
}

func (s eventSource) Rows(_ context.Context, table string, fn func(map[string]any) error) error {
	switch table {
	case "restaurants":
		return fn(map[string]any{"id": store.NewID(), "name": "Copied", "prefix": "CP", "status": "active",
			"created_at": "2026-01-02T03:04:05.000000Z", "updated_at": "2026-01-02T03:04:05.000000Z"})
	case "tenant_events":
		first := store.NewID()
		for i := range s.n {
			id := store.NewID()
			if i == 0 {
				id = first
			}
			row := map[string]any{"id": id, "event_type": "api_request", "event_data": fmt.Sprintf(`{"seq":%d}`, i),
				"created_at": "2026-01-02T03:04:05.000000Z"}
			if s.spoil != nil {
				if err := s.spoil(i, row); err != nil {
					return err
				}
				if row["id"] == "first" {
					row["id"] = first
				}
			}
			if err := fn(row); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestImportFailureMidTableChangesNothing: whatever stops an import in
// the middle of a large table — the database refusing a row, the archive
// failing, a row with a column the schema lacks — the import returns that
// reason and nothing is written.
func TestImportFailureMidTableChangesNothing(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	broken := errors.New("archive truncated")
	cases := []struct {
		name  string
		spoil func(i int, row map[string]any) error
		check func(error) bool
	}{
		{"duplicate key", func(i int, row map[string]any) error {
			if i == 4500 {
				row["id"] = "first"
			}
			return nil
		}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "tenant_events") }},
		{"source fails", func(i int, row map[string]any) error {
			if i == 4500 {
				return broken
			}
			return nil
		}, func(err error) bool { return errors.Is(err, broken) }},
		{"unknown column", func(i int, row map[string]any) error {
			if i == 4500 {
				row["is_superuser"] = true
			}
			return nil
		}, func(err error) bool {
			return apperr.CodeOf(err) == apperr.Invalid && strings.Contains(err.Error(), "is_superuser")
		}},
		{"bad value", func(i int, row map[string]any) error {
			if i == 4500 {
				row["created_at"] = json.Number("7")
			}
			return nil
		}, func(err error) bool {
			return apperr.CodeOf(err) == apperr.Invalid && strings.Contains(err.Error(), "created_at")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, err := db.Restaurants(ctx)
			if err != nil {
				t.Fatal(err)
			}
			target := store.NewID()
			_, err = db.ImportTenant(ctx, store.ImportSpec{TargetID: target, Tables: []string{"restaurants", "tenant_events"}},
				eventSource{n: 6000, spoil: c.spoil})
			if !c.check(err) {
				t.Fatalf("import error: %v", err)
			}
			after, err := db.Restaurants(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Errorf("%d restaurants after the failed import, %d before", len(after), len(before))
			}
			if rows, err := db.TenantRows(ctx, "tenant_events", target); err != nil || len(rows) != 0 {
				t.Errorf("%d events written (%v)", len(rows), err)
			}
		})
	}
	// And the same import, unspoiled, writes every row.
	stats, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: store.NewID(), Tables: []string{"restaurants", "tenant_events"}}, eventSource{n: 6000})
	if err != nil || stats.Rows["tenant_events"] != 6000 {
		t.Fatalf("clean import: %v %v", stats, err)
	}
}
