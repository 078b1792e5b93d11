package backup_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

var update = flag.Bool("update", false, "rewrite the hostile archive corpus in testdata/hostile")

// archiveFiles is an archive taken apart, to be altered and rebuilt.
type archiveFiles struct {
	names []string
	data  map[string][]byte
}

func unzip(t testing.TB, b []byte) archiveFiles {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	af := archiveFiles{data: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		af.names = append(af.names, f.Name)
		af.data[f.Name] = d
	}
	return af
}

func (af archiveFiles) manifest(t testing.TB) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(af.data["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (af archiveFiles) setManifest(t testing.TB, m map[string]any) {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	af.data["manifest.json"] = b
}

// setTable replaces a table's file and, when fix is set, its manifest
// count and checksum, so only the intended flaw remains.
func (af *archiveFiles) setTable(t testing.TB, table string, rows []map[string]any, fix bool) {
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	name := table + ".json"
	if _, ok := af.data[name]; !ok {
		af.names = append(af.names, name)
	}
	af.data[name] = b
	if fix {
		af.fix(t, table, int64(len(rows)))
	}
}

func (af archiveFiles) fix(t testing.TB, table string, count int64) {
	m := af.manifest(t)
	sum := sha256.Sum256(af.data[table+".json"])
	tables := m["tables"].(map[string]any)
	tables[table] = map[string]any{"file": table + ".json", "count": count, "sha256": hex.EncodeToString(sum[:])}
	order := m["table_order"].([]any)
	found := false
	for _, o := range order {
		found = found || o == table
	}
	if !found {
		m["table_order"] = append(order, table)
	}
	af.setManifest(t, m)
}

func (af archiveFiles) rows(t testing.TB, table string) []map[string]any {
	var rows []map[string]any
	if err := json.Unmarshal(af.data[table+".json"], &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func (af archiveFiles) zip(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range af.names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(af.data[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostileCase is one flawed archive and the problem it must be refused for.
type hostileCase struct {
	name string
	want string // a fragment of the expected problem
	make func(t testing.TB, valid []byte) []byte
}

var hostileCases = []hostileCase{
	{"path_traversal", "file name not allowed", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.names = append(af.names, "../../etc/evil.json")
		af.data["../../etc/evil.json"] = []byte("[]")
		return af.zip(t)
	}},
	{"absolute_path", "file name not allowed", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.names = append(af.names, "/tmp/users.json")
		af.data["/tmp/users.json"] = []byte("[]")
		return af.zip(t)
	}},
	{"zip_bomb", "zip bomb", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		// 64 MiB of one byte deflates to about 64 KiB: a 1000:1 ratio.
		af.data["tenant_events.json"] = bytes.Repeat([]byte(" "), 64<<20)
		return af.zip(t)
	}},
	{"wrong_checksum", "sha256 is", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		rows[0]["name"] = "Tampered"
		af.setTable(t, "users", rows, false)
		return af.zip(t)
	}},
	{"row_of_another_tenant", "belongs to restaurant", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		rows[0]["restaurant_id"] = "01234567-89ab-7def-8123-456789abcdef"
		af.setTable(t, "users", rows, true)
		return af.zip(t)
	}},
	{"dangling_reference", "does not resolve inside the archive", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rid := af.manifest(t)["restaurant_id"]
		af.setTable(t, "menu_items", []map[string]any{{
			"restaurant_id": rid, "id": "01960000-0000-7000-8000-000000000001",
			"category_id": "01960000-0000-7000-8000-0000000000ff", "name": "Ghost roll", "description": "",
			"price_cents": 900, "available": true,
			"created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z",
		}}, true)
		return af.zip(t)
	}},
	{"truncated_json", "truncated or malformed JSON", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		d := af.data["users.json"]
		af.data["users.json"] = d[:len(d)/2]
		af.fix(t, "users", int64(len(af.rows0(t, valid, "users"))))
		return af.zip(t)
	}},
	{"newer_format_version", "format_version 2 is newer", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		m := af.manifest(t)
		m["format_version"] = 2
		af.setManifest(t, m)
		return af.zip(t)
	}},
	{"newer_schema_version", "is newer than this installation's database schema", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		m := af.manifest(t)
		m["schema_version"] = 99999
		af.setManifest(t, m)
		return af.zip(t)
	}},
	{"missing_file", "missing from the archive", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		var names []string
		for _, n := range af.names {
			if n != "users.json" {
				names = append(names, n)
			}
		}
		af.names = names
		return af.zip(t)
	}},
	{"unlisted_file", "not listed in the manifest", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.names = append(af.names, "orders_extra.json")
		af.data["orders_extra.json"] = []byte("[]")
		return af.zip(t)
	}},
	{"wrong_count", "the manifest says", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		af.setTable(t, "users", rows[:1], false)
		sum := sha256.Sum256(af.data["users.json"])
		m := af.manifest(t)
		m["tables"].(map[string]any)["users"].(map[string]any)["sha256"] = hex.EncodeToString(sum[:])
		af.setManifest(t, m)
		return af.zip(t)
	}},
	{"not_a_zip", "not a readable ZIP archive", func(t testing.TB, valid []byte) []byte {
		return []byte("this is not an archive at all")
	}},
	{"no_manifest", "manifest.json: missing", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		var names []string
		for _, n := range af.names {
			if n != "manifest.json" {
				names = append(names, n)
			}
		}
		af.names = names
		return af.zip(t)
	}},
}

func (af archiveFiles) rows0(t testing.TB, valid []byte, table string) []map[string]any {
	return unzip(t, valid).rows(t, table)
}

// validArchive exports a seeded tenant and returns the archive bytes.
func validArchive(t testing.TB, s *backup.Service, rid string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := backup.WriteArchive(context.Background(), s.DB, rid, &buf, backup.ExportOptions{AppVersion: "test", Now: s.DB.Now()}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHostileArchivesAreRefused: each flawed archive is reported for its
// flaw, refused as a new tenant with nothing written, and refused over an
// existing tenant, which stays as it was. The committed corpus in
// testdata/hostile gets the same treatment.
func TestHostileArchivesAreRefused(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	victim := seedTenant(t, s.DB, "Victim Diner", 20)
	valid := validArchive(t, s, victim.ID)
	if rep, err := s.ValidateReader(ctx, bytes.NewReader(valid)); err != nil || !rep.Valid {
		t.Fatalf("the base archive is invalid: %v %v", rep.Problems, err)
	}
	check := func(t *testing.T, data []byte, want string) {
		rep, err := s.ValidateReader(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("validate: %v", err)
		}
		if rep.Valid {
			t.Fatal("reported valid")
		}
		found := false
		for _, p := range rep.Problems {
			found = found || strings.Contains(p.String(), want)
		}
		if !found {
			t.Errorf("problems %v lack %q", rep.Problems, want)
		}
		before := dump(t, s.DB, victim.ID)
		n := countRestaurants(t, s.DB)
		if _, err := s.ImportReader(ctx, bytes.NewReader(data), backup.ImportOptions{}, nil); err == nil {
			t.Error("imported as a new restaurant")
		}
		if _, err := s.ImportReader(ctx, bytes.NewReader(data), backup.ImportOptions{TargetID: victim.ID}, nil); err == nil {
			t.Error("imported over the existing restaurant")
		}
		if got := countRestaurants(t, s.DB); got != n {
			t.Errorf("%d restaurants after refused imports, %d before", got, n)
		}
		if !reflect.DeepEqual(dump(t, s.DB, victim.ID), before) {
			t.Error("the existing tenant changed")
		}
	}
	corpus := []struct {
		dir   string
		cases []hostileCase
	}{{filepath.Join("testdata", "hostile"), hostileCases}, {filepath.Join("testdata", "hostile-rows"), rowCases}}
	for _, c := range corpus {
		if *update {
			os.MkdirAll(c.dir, 0o755)
		}
		for _, hc := range c.cases {
			t.Run(hc.name, func(t *testing.T) {
				data := hc.make(t, valid)
				if *update {
					if err := os.WriteFile(filepath.Join(c.dir, hc.name+".zip"), data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				check(t, data, hc.want)
			})
		}
		// The committed corpus stays refused as the code changes.
		files, _ := filepath.Glob(filepath.Join(c.dir, "*.zip"))
		sort.Strings(files)
		if len(files) < len(c.cases) {
			t.Fatalf("%s holds %d archives, want %d (run with -update)", c.dir, len(files), len(c.cases))
		}
		want := map[string]string{}
		for _, hc := range c.cases {
			want[hc.name] = hc.want
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".zip")
			t.Run("corpus/"+name, func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				w := want[name]
				if w == "" {
					w = " " // any problem
				}
				check(t, data, strings.TrimSpace(w))
			})
		}
	}
}

// TestCorruptNewestBackupIsSkipped: emergency restore takes the newest
// backup that validates.
func TestCorruptNewestBackupIsSkipped(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Skipper", 5)
	good, err := s.Export(ctx, r.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	valid := validArchive(t, s, r.ID)
	bad := hostileCases[3].make(t, valid) // wrong checksum
	at := good.CreatedAt.AddDate(0, 0, 1)
	name := archive.ExportID(r.ID, at) + ".zip"
	if err := os.WriteFile(filepath.Join(s.Storage.(backup.Dir).Path, name), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(ctx, r.ID)
	if len(list) != 2 || list[0].File != name {
		t.Fatalf("list %v", list)
	}
	used, err := s.RestoreNewestValid(ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if used.Backup.ID != good.ID {
		t.Errorf("restored from %s, want %s", used.Backup.ID, good.ID)
	}
	if len(used.Skipped) != 1 || used.Skipped[0].BackupID != list[0].ID || !strings.Contains(used.Skipped[0].Reason, "sha256") {
		t.Errorf("skipped %+v, want the corrupt newer backup with its reason", used.Skipped)
	}
	if _, err := s.RestoreNewestValid(ctx, store.NewID(), nil); err == nil {
		t.Error("restored an unknown restaurant")
	}
}
