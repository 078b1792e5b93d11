package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// schema is a small installation: restaurants, users and a menu whose items
// reference their category.
var schema = archive.Schema{
	Tables:  []string{"restaurants", "users", "menu_categories", "menu_items", "tenant_events"},
	Version: 1000,
	ForeignKeys: map[string][]archive.ForeignKey{
		"menu_items": {{Columns: []string{"restaurant_id", "category_id"}, RefTable: "menu_categories", RefColumns: []string{"restaurant_id", "id"}}},
	},
}

var limits = archive.Limits{MaxEntries: 64, MaxFileBytes: 4 << 20, MaxTotal: 16 << 20, MaxRatio: 200}

// TestCorpusIsRefused: every archive of the hostile corpus is reported
// with at least one problem by the reader alone.
func TestCorpusIsRefused(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "hostile", "*.zip"))
	if len(files) == 0 {
		t.Fatal("no hostile corpus in ../testdata/hostile")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, problems := archive.Open(bytes.NewReader(data), int64(len(data)), limits)
		if a != nil {
			problems = append(problems, a.Validate(context.Background(), schema)...)
		}
		if len(problems) == 0 {
			t.Errorf("%s: no problem found", filepath.Base(f))
		}
	}
}

func TestExportIDs(t *testing.T) {
	rid, at, ok := archive.ParseExportID("tenant_export_01960000-0000-7000-8000-000000000001_20261123020000")
	if !ok || rid != "01960000-0000-7000-8000-000000000001" || at.Hour() != 2 || at.Day() != 23 {
		t.Fatalf("parsed %q %v %v", rid, at, ok)
	}
	for _, bad := range []string{"", "tenant_export_x_20261123020000", "tenant_export_01960000-0000-7000-8000-000000000001_2026", "../tenant_export_01960000-0000-7000-8000-000000000001_20261123020000"} {
		if _, _, ok := archive.ParseExportID(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzArchiveReader: no input makes the reader panic, hang or refuse
// without saying why.
func FuzzArchiveReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "hostile", "*.zip"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 32<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, problems := archive.Open(bytes.NewReader(data), int64(len(data)), limits)
		if a == nil {
			if len(problems) == 0 {
				t.Fatal("refused without a problem")
			}
			return
		}
		_ = a.Validate(context.Background(), schema)
		for _, table := range a.Tables(schema.Tables) {
			_ = a.Rows(context.Background(), table, func(map[string]any) error { return nil })
		}
	})
}
