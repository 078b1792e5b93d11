package archive_test

import (
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// TestChecksInBothSpellings: a constraint as SQLite keeps it (the
// migration's text) and as PostgreSQL reports it allow the same rows.
func TestChecksInBothSpellings(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 20, 0, 0, 0, time.UTC)
	pairs := []struct {
		sqlite, postgres string
		ok, bad          []map[string]any
	}{
		{"(role IN ('admin', 'staff', 'customer'))", "((role = ANY (ARRAY['admin'::text, 'staff'::text, 'customer'::text])))",
			[]map[string]any{{"role": "admin"}, {"role": nil}}, []map[string]any{{"role": "super_admin"}, {"role": "Admin"}}},
		{"(capacity BETWEEN 1 AND 100)", "(((capacity >= 1) AND (capacity <= 100)))",
			[]map[string]any{{"capacity": int64(1)}, {"capacity": int64(100)}}, []map[string]any{{"capacity": int64(0)}, {"capacity": int64(101)}}},
		{"(max_uses IS NULL OR uses <= max_uses)", "(((max_uses IS NULL) OR (uses <= max_uses)))",
			[]map[string]any{{"max_uses": nil, "uses": int64(9)}, {"max_uses": int64(3), "uses": int64(3)}}, []map[string]any{{"max_uses": int64(3), "uses": int64(4)}}},
		{"(ends_at > starts_at)", "((ends_at > starts_at))",
			[]map[string]any{{"starts_at": t0, "ends_at": t0.Add(time.Microsecond)}},
			// PostgreSQL keeps microseconds: 900 ns later is the same instant.
			[]map[string]any{{"starts_at": t0, "ends_at": t0}, {"starts_at": t0.Add(100), "ends_at": t0.Add(900)}}},
		{"(price_cents >= 0)", "((price_cents >= 0))",
			[]map[string]any{{"price_cents": int64(0)}}, []map[string]any{{"price_cents": int64(-1)}}},
	}
	for _, p := range pairs {
		for _, expr := range []string{p.sqlite, p.postgres} {
			c, err := archive.ParseCheck(expr)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range p.ok {
				if !c.Holds(row) {
					t.Errorf("%s refuses %v", expr, row)
				}
			}
			for _, row := range p.bad {
				if c.Holds(row) {
					t.Errorf("%s allows %v", expr, row)
				}
			}
		}
	}
	for _, bad := range []string{"(length(name) < 5)", "(name ~ '^[a-z]+$')", "(created_at > '2020-01-01'::date)", "(a IN ("} {
		if _, err := archive.ParseCheck(bad); err == nil {
			t.Errorf("parsed %s", bad)
		}
	}
}

func TestDefaultsAsConstants(t *testing.T) {
	for expr, want := range map[string]any{"0": int64(0), "'{}'::jsonb": "{}", "TRUE": true, "''::text": "", "-5": int64(-5)} {
		if v, ok := archive.ParseLiteral(expr); !ok || v != want {
			t.Errorf("ParseLiteral(%s) = %v %v", expr, v, ok)
		}
	}
	if _, ok := archive.ParseLiteral("now()"); ok {
		t.Error("now() taken for a constant")
	}
}
