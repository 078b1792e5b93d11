package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Valid ⇔ importable: on whichever engine runs the suite, an archive that
// validates imports, and one that does not is refused by the import's own
// validation before anything is written.

// agreeCases change the base archive in ways that must stay importable, or
// whose answer may differ by engine (only agreement is asserted).
var agreeCases = []struct {
	name  string
	valid string // "yes", "no" or "either"
	make  func(t testing.TB, valid []byte) []byte
}{
	{"unchanged", "yes", func(t testing.TB, valid []byte) []byte { return valid }},
	{"missing_nullable_column", "yes", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		for _, r := range rows {
			delete(r, "tokens_valid_after")
		}
		af.setTable(t, "users", rows, true)
		return af.zip(t)
	}},
	{"missing_column_with_default", "yes", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "feature_flags")
		for _, r := range rows {
			delete(r, "variants")
			delete(r, "description")
		}
		af.setTable(t, "feature_flags", rows, true)
		return af.zip(t)
	}},
	{"unicode_text", "yes", edit("users", 0, func(r map[string]any) { r["name"] = "Ãnne 李 🍣 \u202e" })},
	{"json_with_surrogate_pair", "yes", edit("tenant_events", 0, func(r map[string]any) { r["event_data"] = `{"emoji":"\ud83c\udf63"}` })},
	{"order_with_all_references_null", "yes", add("orders", func() map[string]any { return orderRow(201, "O-201") })},
	{"integer_beyond_int32", "either", add("menu_categories", func() map[string]any { return categoryRow(202, "Big", 1<<31) })},
	{"future_dated_manifest", "either", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		m := af.manifest(t)
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		m["exported_at"] = at.Format(time.RFC3339Nano)
		m["export_id"] = "tenant_export_" + af.rid(t) + "_" + at.Format("20060102150405")
		af.setManifest(t, m)
		return af.zip(t)
	}},
	{"timestamp_with_offset", "yes", edit("users", 0, func(r map[string]any) { r["created_at"] = "2026-01-01T09:00:00.123456+09:00" })},
	{"timestamp_nanoseconds", "yes", edit("users", 0, func(r map[string]any) { r["updated_at"] = "2026-01-01T00:00:00.123456789Z" })},
	{"reservation_ends_within_a_microsecond", "no", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.addRows(t, "tables", tableRow(203, "T9", 4))
		af.addRows(t, "reservations", map[string]any{"id": fixedID(204), "number": "R-9", "customer_id": nil, "table_id": fixedID(203),
			"name": "Quick", "phone": "", "party_size": 2, "starts_at": "2026-01-02T20:00:00.0000001Z", "ends_at": "2026-01-02T20:00:00.0000009Z",
			"status": "booked", "notes": "", "created_at": ts, "updated_at": ts})
		return af.zip(t)
	}},
	{"rollup_buckets_equal_as_instants", "no", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		row := func(n int, bucket string) map[string]any {
			return map[string]any{"id": fixedID(n), "bucket": bucket, "event_type": "api_request", "event_count": 1, "duration_ms_sum": 0, "server_errors": 0}
		}
		af.setTable(t, "tenant_event_rollups", nil, true)
		af.addRows(t, "tenant_event_rollups", row(205, "2026-01-01T10:00:00Z"), row(206, "2026-01-01T11:00:00+01:00"))
		return af.zip(t)
	}},
}

// agree validates and imports data as a new restaurant and fails the test
// when the answers differ; it returns whether the archive was valid.
func agree(t testing.TB, s *backup.Service, data []byte) bool {
	t.Helper()
	ctx := context.Background()
	rep, err := s.ValidateReader(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	n := countRestaurants(t, s.DB)
	stats, err := s.ImportReader(ctx, bytes.NewReader(data), backup.ImportOptions{}, nil)
	switch {
	case rep.Valid && err != nil:
		t.Fatalf("validates but does not import: %v", err)
	case !rep.Valid && err == nil:
		t.Fatalf("imports but does not validate: %v", rep.Problems)
	case !rep.Valid && !strings.Contains(err.Error(), "the archive is not valid"):
		t.Fatalf("refused by the database, not by validation: %v", err)
	case !rep.Valid:
		if got := countRestaurants(t, s.DB); got != n {
			t.Fatalf("%d restaurants after a refused import, %d before", got, n)
		}
	default:
		// Keep the database small for the next case.
		if err := s.DB.DeleteRestaurant(ctx, stats.RestaurantID); err != nil {
			t.Fatal(err)
		}
	}
	return rep.Valid
}

// TestValidateAndImportAgree runs validation and import over the whole
// hostile corpus — the cases, the committed archives and archives that
// must stay importable — and holds their answers equal.
func TestValidateAndImportAgree(t *testing.T) {
	t.Parallel()
	s := newService(t)
	victim := seedTenant(t, s.DB, "Victim Diner", 20)
	valid := validArchive(t, s, victim.ID)
	total := 0
	for _, c := range append(append([]hostileCase{}, hostileCases...), rowCases...) {
		t.Run(c.name, func(t *testing.T) {
			if agree(t, s, c.make(t, valid)) {
				t.Error("a hostile archive validates")
			}
		})
		total++
	}
	for _, c := range agreeCases {
		t.Run(c.name, func(t *testing.T) {
			got := agree(t, s, c.make(t, valid))
			if c.valid != "either" && got != (c.valid == "yes") {
				t.Errorf("valid = %v, want %s", got, c.valid)
			}
		})
		total++
	}
	for _, dir := range []string{"hostile", "hostile-rows"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.zip"))
		for _, f := range files {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				agree(t, s, data)
			})
			total++
		}
	}
	if total < 40+len(agreeCases) {
		t.Errorf("the corpus holds %d archives", total)
	}
}

// mutation is one change to a decoded archive's rows.
type mutation struct {
	table  string
	row    int
	column string
	op     int
	value  string
}

func (m mutation) String() string {
	return fmt.Sprintf("%s row %d column %s op %d value %q", m.table, m.row+1, m.column, m.op, m.value)
}

// mutationOps is how many kinds of change apply can make.
const mutationOps = 17

// apply makes the change and fixes the manifest's count and checksum, so
// the change reaches the rows rather than the checksum check.
func (m mutation) apply(t testing.TB, valid []byte) []byte {
	af := unzip(t, valid)
	var rows []map[string]any
	dec := json.NewDecoder(bytes.NewReader(af.data[m.table+".json"]))
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil || len(rows) == 0 {
		return valid
	}
	i := m.row % len(rows)
	r := rows[i]
	other := rows[(i+1)%len(rows)]
	switch m.op {
	case 0:
		r[m.column] = nil
	case 1:
		r[m.column] = m.value
	case 2:
		r[m.column] = json.Number("2147483648")
	case 3:
		r[m.column] = json.Number("-1")
	case 4:
		r[m.column] = true
	case 5:
		r[m.column] = map[string]any{"v": m.value}
	case 6:
		r[m.column] = other[m.column] // may repeat a unique value
	case 7:
		for _, row := range rows {
			delete(row, m.column)
		}
	case 8:
		r["x_"+m.column] = m.value
	case 9:
		rows = append(rows, r) // a duplicate row
	case 10:
		rows = append(rows[:i], rows[i+1:]...) // may leave references dangling
	case 11:
		r[m.column] = store.NewID()
	case 12:
		r[m.column] = strings.Repeat(m.value+"x", 3000)
	case 13:
		r[m.column] = "2026-02-30T25:00:00Z"
	case 14:
		r[m.column] = json.Number("1e400")
	case 15:
		r[m.column] = m.value + "\x00"
	case 16:
		r[m.column] = json.Number("0")
	}
	af.setTable(t, m.table, rows, true)
	return af.zip(t)
}

// randomMutation picks a table with rows, a row and a column.
func randomMutation(rng *rand.Rand, tables map[string][]string, counts map[string]int) mutation {
	var names []string
	for tb := range tables {
		if counts[tb] > 0 {
			names = append(names, tb)
		}
	}
	sort.Strings(names)
	tb := names[rng.Intn(len(names))]
	cols := tables[tb]
	values := []string{"", "super_admin", "deleted", "admin", "O", "cash", "pending", "{}", "[1,2]", "not json", "2026-01-01T00:00:00Z",
		"01960000-0000-7000-8000-000000000001", "ÿ", `\ud800`, strings.Repeat("a", 40)}
	return mutation{table: tb, row: rng.Intn(counts[tb]), column: cols[rng.Intn(len(cols))], op: rng.Intn(mutationOps),
		value: values[rng.Intn(len(values))]}
}

// demoArchive is the demo restaurant's archive cut down to a few rows per
// table (keeping only rows whose references stay inside it), so that each
// of hundreds of imports is quick; with the tables' columns and row counts.
func demoArchive(t testing.TB, s *backup.Service, creds demo.Credentials) ([]byte, map[string][]string, map[string]int) {
	t.Helper()
	ctx := context.Background()
	fks, err := s.DB.ForeignKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	af := unzip(t, validArchive(t, s, creds.RestaurantID))
	kept := map[string]map[string]bool{} // table → ids kept
	tables, counts := map[string][]string{}, map[string]int{}
	for _, tb := range store.CopyTables() {
		if _, ok := af.data[tb+".json"]; !ok {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(af.data[tb+".json"]))
		dec.UseNumber()
		var rows []map[string]any
		keep := []map[string]any{}
		if err := dec.Decode(&rows); err != nil {
			t.Fatal(err)
		}
		kept[tb] = map[string]bool{}
	rows:
		for _, r := range rows {
			if len(keep) == 8 {
				break
			}
			for _, fk := range fks[tb] {
				for i, c := range fk.Columns {
					if c == "restaurant_id" || fk.RefTable == "restaurants" {
						continue
					}
					if v, _ := r[c].(string); v != "" && fk.RefColumns[i] == "id" && !kept[fk.RefTable][v] {
						continue rows
					}
				}
			}
			keep = append(keep, r)
			kept[tb][r["id"].(string)] = true
		}
		af.setTable(t, tb, keep, true)
		counts[tb] = len(keep)
		if len(keep) > 0 {
			for c := range keep[0] {
				tables[tb] = append(tables[tb], c)
			}
			sort.Strings(tables[tb])
		}
	}
	data := af.zip(t)
	if rep, err := s.ValidateReader(ctx, bytes.NewReader(data)); err != nil || !rep.Valid {
		t.Fatalf("the cut-down demo archive is invalid: %v %v", rep.Problems, err)
	}
	return data, tables, counts
}

// TestMutatedArchivesAgree: a few hundred random changes to the demo
// tenant's archive (seeded, so a failure repeats) each validate and import
// alike. The cases run in parallel, each on one of a few databases that no
// other case uses at the same time: the demo's, and empty ones (validation
// and import answer on the same database, whatever it holds).
func TestMutatedArchivesAgree(t *testing.T) {
	t.Parallel()
	s, creds := newDemoService(t, demo.HistoryDays)
	valid, tables, counts := demoArchive(t, s, creds)
	// At least 40 cases however slow the machine; beyond those, the
	// budget bounds the run.
	const least = 40
	cases, budget := 300, 2*time.Minute
	if testing.Short() {
		cases = least
	}
	// The mutations are drawn in order before any runs, so case n is the
	// same change whichever case runs first.
	rng := rand.New(rand.NewSource(20261130))
	mutations := make([]mutation, cases)
	for n := range mutations {
		mutations[n] = randomMutation(rng, tables, counts)
	}
	const copies = 4
	services := make(chan *backup.Service, copies)
	services <- s
	for range copies - 1 {
		services <- newService(t)
	}
	start := time.Now()
	var ran, accepted atomic.Int64
	var failed atomic.Bool
	t.Run("mutations", func(t *testing.T) {
		for n, m := range mutations {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				t.Parallel()
				if failed.Load() || (n >= least && time.Since(start) > budget) {
					t.SkipNow()
				}
				s := <-services
				defer func() { services <- s }()
				defer func() {
					if t.Failed() {
						failed.Store(true)
						t.Logf("mutation %d: %s", n, m)
					}
				}()
				ran.Add(1)
				if agree(t, s, m.apply(t, valid)) {
					accepted.Add(1)
				}
			})
		}
	})
	if n := ran.Load(); n < least && !failed.Load() {
		t.Errorf("%d mutations ran, want at least %d", n, least)
	}
	t.Logf("%d mutations in %v, %d of them still valid", ran.Load(), time.Since(start).Round(time.Millisecond), accepted.Load())
}

// FuzzValidateImport: whatever change the fuzzer makes to a row of the
// demo archive, validation and import agree. Its seed corpus runs with the
// normal suite.
func FuzzValidateImport(f *testing.F) {
	s, creds := newDemoService(f, demo.HistoryDays)
	valid, tables, counts := demoArchive(f, s, creds)
	var names []string
	for tb := range tables {
		names = append(names, tb)
	}
	sort.Strings(names)
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 12; i++ {
		m := randomMutation(rng, tables, counts)
		f.Add(uint16(slicesIndex(names, m.table)), uint16(m.row), uint16(slicesIndex(tables[m.table], m.column)), uint8(m.op), m.value)
	}
	f.Add(uint16(slicesIndex(names, "users")), uint16(0), uint16(slicesIndex(tables["users"], "role")), uint8(1), "super_admin")
	f.Add(uint16(slicesIndex(names, "restaurants")), uint16(0), uint16(0), uint8(8), "plan")
	f.Fuzz(func(t *testing.T, table, row, column uint16, op uint8, value string) {
		tb := names[int(table)%len(names)]
		cols := tables[tb]
		if len(cols) == 0 || counts[tb] == 0 {
			return
		}
		m := mutation{table: tb, row: int(row) % counts[tb], column: cols[int(column)%len(cols)], op: int(op) % mutationOps, value: value}
		agree(t, s, m.apply(t, valid))
	})
}

func slicesIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 0
}

// addCheck adds a CHECK constraint to tenant_daily_users, which no table
// references, so SQLite can rebuild it with the constraint.
func addCheck(t *testing.T, db *store.DB, expr string) {
	t.Helper()
	ctx := context.Background()
	if db.Engine == store.Postgres {
		if _, err := db.SQL().ExecContext(ctx, `ALTER TABLE tenant_daily_users ADD CHECK (`+expr+`)`); err != nil {
			t.Fatal(err)
		}
		return
	}
	var ddl string
	if err := db.SQL().QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'tenant_daily_users'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(ddl, ")")
	ddl = ddl[:i] + ",\n    CHECK (" + expr + ")\n)"
	for _, q := range []string{`DROP TABLE tenant_daily_users`, ddl} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestValidationFollowsTheCatalog: a CHECK constraint added to the
// database is enforced by validation with no change to its code, and one
// validation cannot evaluate makes it refuse to answer rather than call an
// archive valid.
func TestValidationFollowsTheCatalog(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Catalog Cafe", 5)
	af := unzip(t, validArchive(t, s, r.ID))
	af.addRows(t, "tenant_daily_users", map[string]any{"id": fixedID(301), "day": "2026-01-01", "user_id": "banned-visitor"})
	data := af.zip(t)
	fresh := func() *backup.Service {
		return &backup.Service{DB: s.DB, Storage: s.Storage, AppVersion: "test", TempDir: t.TempDir()}
	}
	if !agree(t, fresh(), data) {
		t.Fatal("the archive is invalid before the constraint exists")
	}
	addCheck(t, s.DB, `user_id <> 'banned-visitor'`)
	svc := fresh()
	if agree(t, svc, data) {
		t.Fatal("the archive validates against the new constraint")
	}
	rep, _ := svc.ValidateReader(ctx, bytes.NewReader(data))
	if !strings.Contains(fmt.Sprint(rep.Problems), `tenant_daily_users.json: row 1, column user_id: "banned-visitor" breaks the database's rule CHECK`) {
		t.Errorf("problems: %v", rep.Problems)
	}
	addCheck(t, s.DB, `length(user_id) < 200`)
	if _, err := fresh().ValidateReader(ctx, bytes.NewReader(data)); err == nil || !strings.Contains(err.Error(), "validation cannot evaluate") {
		t.Errorf("validation with a constraint it cannot evaluate: %v", err)
	}
}
