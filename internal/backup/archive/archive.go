// Package archive is the tenant archive format, version 1
// (docs/backup-format.md): a ZIP holding manifest.json and one <table>.json
// per table. It reads and checks archives without a database, so the
// checks can be fuzzed on their own.
package archive

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// FormatVersion is the archive format this code writes and the newest it reads.
const FormatVersion = 1

// ManifestName is the manifest's file name.
const ManifestName = "manifest.json"

// Manifest describes an archive.
type Manifest struct {
	ExportID       string                `json:"export_id"`
	FormatVersion  int                   `json:"format_version"`
	SchemaVersion  int64                 `json:"schema_version"`
	AppVersion     string                `json:"app_version"`
	RestaurantID   string                `json:"restaurant_id"`
	RestaurantName string                `json:"restaurant_name"`
	ExportedAt     time.Time             `json:"exported_at"`
	ExportedBy     string                `json:"exported_by"`
	Tables         map[string]TableEntry `json:"tables"`
	// TableOrder is the dependency order of Tables (a JSON object has none):
	// a table comes after every table it references.
	TableOrder []string `json:"table_order"`
	// LogPosition is where in the restaurant's change log the snapshot was
	// read (absent in archives written before the change log): a
	// point-in-time restore replays the changes after it. An archive
	// without it is not a base for point-in-time restore.
	LogPosition *store.LogPosition `json:"log_position,omitempty"`
}

// TableEntry describes one table file.
type TableEntry struct {
	File   string `json:"file"`
	Count  int64  `json:"count"`
	SHA256 string `json:"sha256"`
}

// ExportID names an export as the seed did: tenant_export_<id>_<YYYYmmddHHMMSS>.
func ExportID(restaurantID string, at time.Time) string {
	return "tenant_export_" + restaurantID + "_" + at.UTC().Format("20060102150405")
}

// pgSnapshotPattern is pg_current_snapshot()'s text form.
var pgSnapshotPattern = regexp.MustCompile(`^[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?$`)

var exportIDPattern = regexp.MustCompile(`^tenant_export_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([0-9]{14})(_[0-9]{1,4})?$`)

// ParseExportID returns the restaurant and time an export id names.
func ParseExportID(id string) (restaurantID string, at time.Time, ok bool) {
	m := exportIDPattern.FindStringSubmatch(id)
	if m == nil {
		return "", time.Time{}, false
	}
	t, err := time.Parse("20060102150405", m[2])
	if err != nil {
		return "", time.Time{}, false
	}
	return m[1], t.UTC(), true
}

// Secret recognises tables that must never leave the database in an
// archive whatever later migrations add: live credentials. Platform tables
// (revoked tokens, API keys) are outside tenant copies anyway; this guards a
// tenant table of reset codes or sessions added later.
func Secret(table string) bool {
	for _, w := range []string{"token", "reset", "api_key", "session", "secret"} {
		if strings.Contains(table, w) {
			return true
		}
	}
	return false
}

func validID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// Limits bound what a reader accepts, against zip bombs and oversized input.
type Limits struct {
	MaxEntries   int     // files in the archive
	MaxFileBytes uint64  // uncompressed size of one file
	MaxTotal     uint64  // uncompressed size of all files
	MaxRatio     float64 // uncompressed/compressed for files over 1 MiB
}

// DefaultLimits suit tenants of tens of millions of rows.
var DefaultLimits = Limits{MaxEntries: 256, MaxFileBytes: 16 << 30, MaxTotal: 64 << 30, MaxRatio: 200}

// Problem is one thing wrong with an archive.
type Problem struct {
	File string `json:"file,omitempty"`
	// Table, Row (counting from 1) and Column locate a problem in a row.
	Table   string `json:"table,omitempty"`
	Row     int    `json:"row,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.File == "" {
		return p.Message
	}
	return p.File + ": " + p.Message
}

// maxProblems keeps a hostile archive from growing the report without end.
const maxProblems = 200

type problems struct {
	list    []Problem
	dropped int
}

func (ps *problems) add(file, format string, args ...any) {
	if len(ps.list) >= maxProblems {
		ps.dropped++
		return
	}
	ps.list = append(ps.list, Problem{File: file, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) result() []Problem {
	if ps.dropped > 0 {
		return append(ps.list, Problem{Message: fmt.Sprintf("%d further problems not listed", ps.dropped)})
	}
	return ps.list
}

// ForeignKey is a (possibly composite) reference between tables.
type ForeignKey struct {
	Columns    []string
	RefTable   string
	RefColumns []string
}

func (fk ForeignKey) String() string {
	return fmt.Sprintf("(%s) → %s(%s)", strings.Join(fk.Columns, ", "), fk.RefTable, strings.Join(fk.RefColumns, ", "))
}

// Schema is what the reading installation knows: its copy tables in
// dependency order (restaurants first), their references, and its
// database schema version.
type Schema struct {
	Tables      []string
	ForeignKeys map[string][]ForeignKey
	Version     int64
	// Catalog is what the database enforces on each table's rows (columns,
	// types, NOT NULL, CHECK, unique keys, index sizes); a table missing
	// from it gets none of those checks.
	Catalog map[string]Table
}

// Archive is an opened archive file.
type Archive struct {
	Manifest Manifest
	files    map[string]*zip.File
	limits   Limits
}

var tableFileName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}\.json$`)

// Open reads an archive's directory and manifest. Structural problems are
// returned as problems; an error means the input could not be read at all.
func Open(r io.ReaderAt, size int64, limits Limits) (*Archive, []Problem) {
	var ps problems
	a := &Archive{files: map[string]*zip.File{}, limits: limits}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		ps.add("", "not a readable ZIP archive: %v", err)
		return nil, ps.result()
	}
	if len(zr.File) > limits.MaxEntries {
		ps.add("", "the archive holds %d files, more than the %d allowed", len(zr.File), limits.MaxEntries)
		return nil, ps.result()
	}
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		switch {
		case name != ManifestName && !tableFileName.MatchString(name):
			ps.add(name, "file name not allowed in an archive (only manifest.json and <table>.json at the top level)")
			continue
		case a.files[name] != nil:
			ps.add(name, "file appears twice in the archive")
			continue
		case f.Method != zip.Store && f.Method != zip.Deflate:
			ps.add(name, "unsupported compression method %d", f.Method)
			continue
		case f.UncompressedSize64 > limits.MaxFileBytes:
			ps.add(name, "uncompressed size %d exceeds the limit of %d bytes", f.UncompressedSize64, limits.MaxFileBytes)
			continue
		case f.UncompressedSize64 > 1<<20 && float64(f.UncompressedSize64) > limits.MaxRatio*float64(max(f.CompressedSize64, 1)):
			ps.add(name, "compression ratio %.0f:1 exceeds %.0f:1 (refused as a possible zip bomb)",
				float64(f.UncompressedSize64)/float64(max(f.CompressedSize64, 1)), limits.MaxRatio)
			continue
		}
		total += f.UncompressedSize64
		a.files[name] = f
	}
	if total > limits.MaxTotal {
		ps.add("", "uncompressed size %d exceeds the limit of %d bytes", total, limits.MaxTotal)
		return nil, ps.result()
	}
	mf := a.files[ManifestName]
	if mf == nil {
		ps.add(ManifestName, "missing")
		return nil, ps.result()
	}
	if mf.UncompressedSize64 > 1<<20 {
		ps.add(ManifestName, "larger than 1 MiB")
		return nil, ps.result()
	}
	rc, err := mf.Open()
	if err != nil {
		ps.add(ManifestName, "unreadable: %v", err)
		return nil, ps.result()
	}
	defer rc.Close()
	dec := json.NewDecoder(io.LimitReader(rc, 1<<20))
	if err := dec.Decode(&a.Manifest); err != nil {
		ps.add(ManifestName, "not a valid manifest: %v", err)
		return nil, ps.result()
	}
	return a, ps.result()
}

// CheckManifest reports what is wrong with the manifest itself, given the
// schema version the running code has.
func (a *Archive) CheckManifest(schema Schema) []Problem {
	var ps problems
	m := a.Manifest
	switch {
	case m.FormatVersion > FormatVersion:
		ps.add(ManifestName, "format_version %d is newer than this installation reads (%d): upgrade ordersuite to import it", m.FormatVersion, FormatVersion)
	case m.FormatVersion < 1:
		ps.add(ManifestName, "format_version is missing or invalid")
	}
	if m.SchemaVersion > schema.Version {
		ps.add(ManifestName, "schema_version %d is newer than this installation's database schema (%d): upgrade ordersuite to import it", m.SchemaVersion, schema.Version)
	} else if m.SchemaVersion < 1 {
		ps.add(ManifestName, "schema_version is missing or invalid")
	}
	rid, _, ok := ParseExportID(m.ExportID)
	if !ok {
		ps.add(ManifestName, "export_id %q is not tenant_export_<restaurant_id>_<YYYYmmddHHMMSS>", m.ExportID)
	} else if rid != m.RestaurantID {
		ps.add(ManifestName, "export_id names restaurant %s but restaurant_id is %s", rid, m.RestaurantID)
	}
	if !validID(m.RestaurantID) {
		ps.add(ManifestName, "restaurant_id %q is not a valid id", m.RestaurantID)
	}
	if m.ExportedAt.IsZero() {
		ps.add(ManifestName, "exported_at is missing")
	}
	if _, ok := m.Tables["restaurants"]; !ok {
		ps.add(ManifestName, "tables lacks restaurants (the restaurant row)")
	}
	if lp := m.LogPosition; lp != nil {
		switch {
		case lp.Engine != store.Postgres && lp.Engine != store.SQLite:
			ps.add(ManifestName, "log_position.engine %q is neither postgres nor sqlite", lp.Engine)
		case lp.Engine == store.Postgres && !pgSnapshotPattern.MatchString(lp.Snapshot):
			ps.add(ManifestName, "log_position.snapshot %q is not a PostgreSQL snapshot (xmin:xmax:xip,…)", lp.Snapshot)
		case lp.Seq < 0:
			ps.add(ManifestName, "log_position.seq is negative")
		case lp.At.IsZero():
			ps.add(ManifestName, "log_position.at is missing")
		}
	}
	for name, t := range m.Tables {
		switch {
		case !slices.Contains(schema.Tables, name):
			ps.add(ManifestName, "table %q is not a tenant table of this installation", name)
		case Secret(name):
			ps.add(ManifestName, "table %q holds credentials and must not be in an archive", name)
		case t.File != name+".json":
			ps.add(ManifestName, "table %s: file is %q, want %q", name, t.File, name+".json")
		case t.Count < 0:
			ps.add(ManifestName, "table %s: negative count", name)
		case len(t.SHA256) != 64:
			ps.add(ManifestName, "table %s: sha256 is not 64 hex digits", name)
		}
		if !slices.Contains(m.TableOrder, name) {
			ps.add(ManifestName, "table_order lacks %s", name)
		}
	}
	for name := range a.files {
		if name == ManifestName {
			continue
		}
		if _, ok := m.Tables[strings.TrimSuffix(name, ".json")]; !ok {
			ps.add(name, "file is not listed in the manifest")
		}
	}
	for name, t := range m.Tables {
		if a.files[t.File] == nil && t.File == name+".json" {
			ps.add(t.File, "listed in the manifest but missing from the archive")
		}
	}
	return ps.result()
}

// Tables returns the archive's tables in the installation's dependency
// order (order lists the installation's tables).
func (a *Archive) Tables(order []string) []string {
	var out []string
	for _, t := range order {
		if _, ok := a.Manifest.Tables[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// Rows streams a table's rows (store.RowSource). Numbers stay json.Number.
func (a *Archive) Rows(ctx context.Context, table string, fn func(row map[string]any) error) error {
	t, ok := a.Manifest.Tables[table]
	if !ok {
		return fmt.Errorf("backup: %s is not in the archive", table)
	}
	f := a.files[t.File]
	if f == nil {
		return fmt.Errorf("backup: %s is missing", t.File)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return EachRow(ctx, rc, func(row map[string]any) error { return fn(row) })
}

// EachRow decodes a JSON array of objects one element at a time.
func EachRow(ctx context.Context, r io.Reader, fn func(map[string]any) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not a JSON array: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("not a JSON array")
	}
	n := 0
	for dec.More() {
		if n%1000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			return fmt.Errorf("row %d: %w (truncated or malformed JSON)", n+1, err)
		}
		if row == nil {
			return fmt.Errorf("row %d: not a JSON object", n+1)
		}
		if err := fn(row); err != nil {
			return err
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("after row %d: %w (truncated or malformed JSON)", n, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the end of the JSON array")
	}
	return nil
}

// Validate checks the whole archive against the running installation's
// schema and returns every problem found: structure, versions, files,
// counts, checksums, UTF-8, rows of another tenant, references that do not
// resolve inside the archive, and, per row, everything the database would
// refuse on import (Schema.Catalog): unknown or missing columns, types,
// NOT NULL, CHECK constraints, duplicate keys and oversized index entries.
func (a *Archive) Validate(ctx context.Context, schema Schema) []Problem {
	var ps problems
	seed := maphash.MakeSeed()
	for _, p := range a.CheckManifest(schema) {
		ps.add(p.File, "%s", p.Message)
	}
	rid := a.Manifest.RestaurantID
	// keys[table][columns] holds the key tuples present, for references.
	keys := map[string]map[string]map[string]struct{}{}
	needed := map[string][][]string{} // table → column sets other tables reference
	for _, fks := range schema.ForeignKeys {
		for _, fk := range fks {
			if fk.RefTable == "restaurants" {
				continue
			}
			needed[fk.RefTable] = append(needed[fk.RefTable], withoutTenant(fk.RefColumns))
		}
	}
	type pending struct {
		table, fk, key string
		row            int
	}
	var deferred []pending
	for _, table := range a.Tables(schema.Tables) {
		t := a.Manifest.Tables[table]
		f := a.files[t.File]
		if f == nil {
			continue // reported by CheckManifest
		}
		tenantCol := "restaurant_id"
		if table == "restaurants" {
			tenantCol = "id"
		}
		for _, cols := range needed[table] {
			if keys[table] == nil {
				keys[table] = map[string]map[string]struct{}{}
			}
			keys[table][strings.Join(cols, ",")] = map[string]struct{}{}
		}
		rc, err := f.Open()
		if err != nil {
			ps.add(t.File, "unreadable: %v", err)
			continue
		}
		h := sha256.New()
		u := &utf8Check{bad: -1}
		var count int64
		foreign := 0
		var rows *rowChecker
		if tc, ok := schema.Catalog[table]; ok {
			rows = newRowChecker(table, t.File, tenantCol, tc, &ps, seed)
		}
		err = EachRow(ctx, io.TeeReader(rc, io.MultiWriter(h, u)), func(row map[string]any) error {
			count++
			if rows != nil {
				rows.check(int(count), row)
			}
			if v, _ := row[tenantCol].(string); v != rid {
				if foreign < 5 {
					ps.add(t.File, "row %d belongs to restaurant %v, not %s", count, row[tenantCol], rid)
				}
				foreign++
			}
			for set, m := range keys[table] {
				if k, ok := keyOf(row, strings.Split(set, ",")); ok {
					m[k] = struct{}{}
				}
			}
			for _, fk := range schema.ForeignKeys[table] {
				if fk.RefTable == "restaurants" || !slices.Contains(fk.Columns, "restaurant_id") {
					continue
				}
				k, ok := keyOf(row, withoutTenant(fk.Columns))
				if !ok {
					continue // a NULL reference refers to nothing
				}
				refSet := strings.Join(withoutTenant(fk.RefColumns), ",")
				if fk.RefTable == table || keys[fk.RefTable] == nil {
					deferred = append(deferred, pending{table: table, fk: fk.String(), key: fk.RefTable + "\x00" + refSet + "\x00" + k, row: int(count)})
					continue
				}
				if _, ok := keys[fk.RefTable][refSet][k]; !ok {
					ps.add(t.File, "row %d: reference %s = %s does not resolve inside the archive", count, fk, k)
				}
			}
			return nil
		})
		// Read to the end so the checksum covers the whole file even when
		// the JSON is bad.
		if _, cerr := io.Copy(io.MultiWriter(h, u), rc); cerr != nil && err == nil {
			err = cerr
		}
		rc.Close()
		if err != nil {
			ps.add(t.File, "%v", err)
		}
		if rows != nil {
			rows.finish()
		}
		if u.close(); u.bad >= 0 {
			ps.add(t.File, "is not valid UTF-8 text (byte %d)", u.bad)
		}
		if table == "restaurants" && err == nil && count != 1 {
			ps.add(t.File, "holds %d rows; an archive holds exactly one restaurant", count)
		}
		if foreign > 5 {
			ps.add(t.File, "%d rows in all belong to another restaurant", foreign)
		}
		if err == nil && count != t.Count {
			ps.add(t.File, "holds %d rows, the manifest says %d", count, t.Count)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != t.SHA256 {
			ps.add(t.File, "sha256 is %s, the manifest says %s", got, t.SHA256)
		}
	}
	for _, d := range deferred {
		parts := strings.SplitN(d.key, "\x00", 3)
		if _, ok := keys[parts[0]][parts[1]][parts[2]]; !ok {
			ps.add(d.table+".json", "row %d: reference %s = %s does not resolve inside the archive", d.row, d.fk, parts[2])
		}
	}
	return ps.result()
}

func withoutTenant(cols []string) []string {
	var out []string
	for _, c := range cols {
		if c != "restaurant_id" {
			out = append(out, c)
		}
	}
	return out
}

// keyOf joins a row's values of cols; ok is false when any is NULL.
func keyOf(row map[string]any, cols []string) (string, bool) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		v, present := row[c]
		if !present || v == nil {
			return "", false
		}
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "|"), true
}
