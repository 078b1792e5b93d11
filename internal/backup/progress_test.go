package backup_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// progressLog records an operation's progress reports. The first report
// of tenant_events waits longer than a copy's reporting interval, so that
// a table of a few thousand rows, copied in milliseconds, still has to
// report its middle.
type progressLog struct {
	mu      sync.Mutex
	lines   []string
	percent []int
	waited  bool
}

func (l *progressLog) report(pct int, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(msg, " tenant_events: 0 of") && !l.waited {
		l.waited = true
		time.Sleep(300 * time.Millisecond)
	}
	l.lines = append(l.lines, msg)
	l.percent = append(l.percent, pct)
}

// midTable reports whether some report named rows of table between none
// and all of them, and that progress never went back.
func (l *progressLog) check(t *testing.T, verb, table string, total int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	mid := false
	for _, line := range l.lines {
		var done, of int
		if _, err := fmt.Sscanf(line, verb+" "+table+": %d of %d rows", &done, &of); err == nil {
			if of != total {
				t.Errorf("%q: the table holds %d rows", line, total)
			}
			if done > 0 && done < of {
				mid = true
			}
		}
	}
	if !mid {
		t.Errorf("no report from within %s while %s; reports: %q", table, verb, l.lines)
	}
	for i := 1; i < len(l.percent); i++ {
		if l.percent[i] < l.percent[i-1] {
			t.Errorf("progress went back from %d%% to %d%% (%q)", l.percent[i-1], l.percent[i], l.lines[i])
		}
	}
}

// TestProgressMovesWithinATable: exports and imports report rows done of
// rows total within a table, not only as each table starts.
func TestProgressMovesWithinATable(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	events := storetest.Scaled(5000)
	src := seedTenant(t, s.DB, "Progress Source", events)
	var exp progressLog
	b, err := s.Export(ctx, src.ID, "test", exp.report)
	if err != nil {
		t.Fatal(err)
	}
	exp.check(t, "exporting", "tenant_events", events)

	var imp progressLog
	if _, err := s.Restore(ctx, b.ID, backup.ImportOptions{NewName: "Progress Copy"}, imp.report); err != nil {
		t.Fatal(err)
	}
	imp.check(t, "importing", "tenant_events", events)
}

// TestDrillComparesSideBySide: the drill's row-by-row comparison streams
// both tenants in step, in id order, each row once, and sees a table whose
// row counts differ to its end: across the pages it reads (one side ends
// on a page's last row, the other a few rows into its third page).
func TestDrillComparesSideBySide(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	a := seedTenant(t, s.DB, "Side A", 1003)
	b := seedTenant(t, s.DB, "Side B", 500)
	var pairs, onlyA, onlyB int
	seen := [2]map[string]bool{{}, {}}
	last := [2]string{}
	err := s.DB.EachTenantRowPair(ctx, "tenant_events", a.ID, b.ID, func(cols []string, ra, rb []any) error {
		pairs++
		if rb == nil {
			onlyA++
		}
		if ra == nil {
			onlyB++
		}
		if len(cols) == 0 || (ra != nil && len(ra) != len(cols)) {
			t.Fatalf("columns %v, row %v", cols, ra)
		}
		id := slices.Index(cols, "id")
		for side, row := range [][]any{ra, rb} {
			if row == nil {
				continue
			}
			v := fmt.Sprint(row[id])
			if seen[side][v] || v <= last[side] {
				t.Fatalf("side %d: row %s after %s", side, v, last[side])
			}
			seen[side][v], last[side] = true, v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pairs != 1003 || onlyA != 503 || onlyB != 0 || len(seen[0]) != 1003 || len(seen[1]) != 500 {
		t.Errorf("%d pairs, %d rows only in A, %d only in B, %d and %d distinct; want 1003, 503, 0, 1003, 500",
			pairs, onlyA, onlyB, len(seen[0]), len(seen[1]))
	}
}
