package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Progress is told how far an operation is (0–100) and what it is doing.
type Progress func(percent int, message string)

func (p Progress) report(percent int, format string, args ...any) {
	if p != nil {
		p(percent, fmt.Sprintf(format, args...))
	}
}

// copying reports a copy's rows done of rows total, mapped onto [from, to].
func (p Progress) copying(from, to int, verb string, c store.CopyProgress) {
	p.report(c.Percent(from, to), "%s %s: %d of %d rows", verb, c.Table, c.TableRows, c.TableTotal)
}

// manifestRows are the rows per table an archive says it holds (validation
// has checked them against its files).
func manifestRows(a *archive.Archive) map[string]int64 {
	out := map[string]int64{}
	for table, t := range a.Manifest.Tables {
		out[table] = t.Count
	}
	return out
}

// Service is disaster recovery for the installation: backups of tenants in
// storage, and restores, clones and drills from them.
type Service struct {
	DB         *store.DB
	Storage    Storage
	AppVersion string
	Limits     archive.Limits
	// Cipher, when set, encrypts archives at rest.
	Cipher *Cipher
	Log    *slog.Logger
	// TempDir holds archives while they are written or read (default os.TempDir).
	TempDir string

	schemaMu sync.Mutex
	schema   *archive.Schema // the catalog as of schema.Version
}

// archiveSchema returns the database's tables and references, read from the
// catalog once per schema version: the catalog takes a hundred queries to
// read, and it only changes with a migration.
func (s *Service) archiveSchema(ctx context.Context) (archive.Schema, error) {
	version, _, err := s.DB.SchemaStatus(ctx)
	if err != nil {
		return archive.Schema{}, err
	}
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schema != nil && s.schema.Version == version {
		return *s.schema, nil
	}
	sc, err := archiveSchema(ctx, s.DB)
	if err != nil {
		return sc, err
	}
	s.schema = &sc
	return sc, nil
}

func (s *Service) limits() archive.Limits {
	if s.Limits.MaxEntries == 0 {
		return archive.DefaultLimits
	}
	return s.Limits
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Backup is one stored archive.
type Backup struct {
	ID           string    `json:"id"`
	RestaurantID string    `json:"restaurant_id"`
	CreatedAt    time.Time `json:"created_at"`
	Size         int64     `json:"size"`
	Encrypted    bool      `json:"encrypted"`
	File         string    `json:"file"`
}

func backupOf(o Object) (Backup, bool) {
	id, ext := splitName(o.Name)
	rid, at, ok := archive.ParseExportID(id)
	if !ok || ext == "" {
		return Backup{}, false
	}
	return Backup{ID: id, RestaurantID: rid, CreatedAt: at, Size: o.Size, Encrypted: ext == ".zip.age", File: o.Name}, true
}

// List returns every stored backup, newest first; of one restaurant when
// restaurantID is set.
func (s *Service) List(ctx context.Context, restaurantID string) ([]Backup, error) {
	objs, err := s.Storage.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", s.Storage, err)
	}
	var out []Backup
	for _, o := range objs {
		b, ok := backupOf(o)
		if !ok || (restaurantID != "" && b.RestaurantID != restaurantID) {
			continue
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Find returns the stored backup with id.
func (s *Service) Find(ctx context.Context, id string) (Backup, error) {
	if _, _, ok := archive.ParseExportID(id); !ok {
		return Backup{}, ErrNotStored
	}
	all, err := s.List(ctx, "")
	if err != nil {
		return Backup{}, err
	}
	for _, b := range all {
		if b.ID == id {
			return b, nil
		}
	}
	return Backup{}, ErrNotStored
}

func (s *Service) tempFile(pattern string) (*os.File, error) {
	return os.CreateTemp(s.TempDir, pattern)
}

// Export backs up one restaurant to storage.
func (s *Service) Export(ctx context.Context, restaurantID, exportedBy string, progress Progress) (Backup, error) {
	r, err := s.DB.Restaurant(ctx, restaurantID)
	if err != nil {
		return Backup{}, err
	}
	tmp, err := s.tempFile("ordersuite-export-*.zip")
	if err != nil {
		return Backup{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	now := s.DB.Now()
	id, err := s.freeID(ctx, r.ID, now)
	if err != nil {
		return Backup{}, err
	}
	m, err := WriteArchive(ctx, s.DB, r.ID, tmp, ExportOptions{
		AppVersion: s.AppVersion, ExportedBy: exportedBy, Now: now, ExportID: id,
		Progress: func(p store.CopyProgress) { progress.copying(5, 85, "exporting", p) },
	})
	if err != nil {
		return Backup{}, fmt.Errorf("backup: export %s: %w", r.ID, err)
	}
	progress.report(90, "storing %s", m.ExportID)
	name := m.ExportID + ".zip"
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Backup{}, err
	}
	var src io.Reader = tmp
	if s.Cipher != nil {
		name += ".age"
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.Cipher.Encrypt(pw, tmp)) }()
		defer pr.Close()
		src = pr
	}
	if err := s.Storage.Put(ctx, name, src); err != nil {
		return Backup{}, fmt.Errorf("backup: store %s: %w", name, err)
	}
	size := int64(0)
	if st, err := tmp.Stat(); err == nil {
		size = st.Size()
	}
	s.log().InfoContext(ctx, "tenant exported", "restaurant_id", r.ID, "backup_id", m.ExportID, "bytes", size)
	progress.report(100, "stored %s", m.ExportID)
	return Backup{ID: m.ExportID, RestaurantID: r.ID, CreatedAt: m.ExportedAt.Truncate(time.Second), Size: size,
		Encrypted: s.Cipher != nil, File: name}, nil
}

// freeID picks an export id not yet used (two exports within one second
// get a numeric suffix).
func (s *Service) freeID(ctx context.Context, rid string, now time.Time) (string, error) {
	existing, err := s.List(ctx, rid)
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, b := range existing {
		used[b.ID] = true
	}
	id := archive.ExportID(rid, now)
	for i := 2; used[id]; i++ {
		id = fmt.Sprintf("%s_%d", archive.ExportID(rid, now), i)
	}
	return id, nil
}

// fetch copies a stored backup to a local temporary file (decrypted), for
// random access by the ZIP reader.
func (s *Service) fetch(ctx context.Context, id string) (*os.File, error) {
	b, err := s.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	rc, err := s.Storage.Get(ctx, b.File)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return s.localCopy(ctx, rc)
}

// localCopy writes r (an archive, encrypted or not) to a temporary file.
func (s *Service) localCopy(ctx context.Context, r io.Reader) (*os.File, error) {
	tmp, err := s.tempFile("ordersuite-archive-*.zip")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	br := newPeekReader(r)
	var src io.Reader = br
	if isEncrypted(br) {
		if s.Cipher == nil {
			return fail(apperr.Errorf(apperr.Invalid, "the archive is encrypted and no BACKUP_ENCRYPTION_KEY is configured"))
		}
		if src, err = s.Cipher.Decrypt(br); err != nil {
			return fail(err)
		}
	}
	limit := int64(s.limits().MaxTotal) + 1<<20
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, src}, limit+1))
	if err != nil {
		return fail(fmt.Errorf("backup: read archive: %w", err))
	}
	if n > limit {
		return fail(apperr.Errorf(apperr.TooLarge, "the archive exceeds %d bytes", limit))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return tmp, nil
}

func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// Report is the outcome of a validation.
type Report struct {
	BackupID     string            `json:"backup_id,omitempty"`
	Valid        bool              `json:"valid"`
	Problems     []archive.Problem `json:"problems"`
	RestaurantID string            `json:"restaurant_id,omitempty"`
	Manifest     *archive.Manifest `json:"manifest,omitempty"`
}

// openChecked opens and fully validates a local archive file.
func (s *Service) openChecked(ctx context.Context, f *os.File) (*archive.Archive, Report, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, Report{}, err
	}
	a, ps := archive.Open(f, st.Size(), s.limits())
	if a == nil {
		return nil, Report{Problems: ps}, nil
	}
	schema, err := s.archiveSchema(ctx)
	if err != nil {
		return nil, Report{}, err
	}
	ps = append(ps, a.Validate(ctx, schema)...)
	if err := ctx.Err(); err != nil {
		return nil, Report{}, err
	}
	m := a.Manifest
	return a, Report{Valid: len(ps) == 0, Problems: ps, RestaurantID: m.RestaurantID, Manifest: &m}, nil
}

// Validate checks a stored backup.
func (s *Service) Validate(ctx context.Context, id string) (Report, error) {
	f, err := s.fetch(ctx, id)
	if err != nil {
		return Report{}, err
	}
	defer discard(f)
	_, rep, err := s.openChecked(ctx, f)
	rep.BackupID = id
	if rep.Problems == nil {
		rep.Problems = []archive.Problem{}
	}
	return rep, err
}

// ValidateReader checks an archive given as a stream (a file or an upload).
func (s *Service) ValidateReader(ctx context.Context, r io.Reader) (Report, error) {
	f, err := s.localCopy(ctx, r)
	if err != nil {
		return Report{}, err
	}
	defer discard(f)
	_, rep, err := s.openChecked(ctx, f)
	if rep.Problems == nil {
		rep.Problems = []archive.Problem{}
	}
	return rep, err
}

// ImportOptions say where an archive goes.
type ImportOptions struct {
	// TargetID is an existing restaurant to replace; empty creates a new one.
	TargetID string
	// NewName renames the restaurant.
	NewName string
	// NewID, when set with an empty TargetID, is the new restaurant's id
	// (chosen in advance so a job can name its tenant before running).
	NewID string
}

// InvalidArchive is the error of an import refused by validation; it carries
// every problem.
type InvalidArchive struct{ Problems []archive.Problem }

func (e *InvalidArchive) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return "the archive is not valid: " + strings.Join(msgs, "; ")
}

// Import validates an archive and writes it in one transaction.
func (s *Service) Import(ctx context.Context, f *os.File, opt ImportOptions, progress Progress) (store.ImportStats, error) {
	progress.report(2, "validating archive")
	a, rep, err := s.openChecked(ctx, f)
	if err != nil {
		return store.ImportStats{}, err
	}
	if !rep.Valid {
		return store.ImportStats{}, apperr.Errorf(apperr.Invalid, "%s", (&InvalidArchive{rep.Problems}).Error())
	}
	spec := store.ImportSpec{TargetID: opt.TargetID, Replace: opt.TargetID != "", NewName: strings.TrimSpace(opt.NewName), Tables: a.Tables(exportTables()),
		Rows: manifestRows(a), Progress: func(p store.CopyProgress) { progress.copying(30, 95, "importing", p) }}
	if !spec.Replace {
		spec.TargetID = opt.NewID
		if spec.TargetID == "" {
			spec.TargetID = store.NewID()
		}
	}
	stats, err := s.DB.ImportTenant(ctx, spec, a)
	if err != nil {
		return stats, err
	}
	progress.report(100, "imported into %s", stats.RestaurantID)
	s.log().InfoContext(ctx, "tenant imported", "restaurant_id", stats.RestaurantID, "source", a.Manifest.ExportID, "replace", spec.Replace)
	return stats, nil
}

// Restore imports a stored backup: over TargetID when set, else as a new
// restaurant.
func (s *Service) Restore(ctx context.Context, id string, opt ImportOptions, progress Progress) (store.ImportStats, error) {
	progress.report(1, "fetching %s", id)
	f, err := s.fetch(ctx, id)
	if err != nil {
		return store.ImportStats{}, err
	}
	defer discard(f)
	return s.Import(ctx, f, opt, progress)
}

// ImportReader imports an archive given as a stream (an upload).
func (s *Service) ImportReader(ctx context.Context, r io.Reader, opt ImportOptions, progress Progress) (store.ImportStats, error) {
	f, err := s.localCopy(ctx, r)
	if err != nil {
		return store.ImportStats{}, err
	}
	defer discard(f)
	return s.Import(ctx, f, opt, progress)
}

// Clone copies a restaurant into a new one named newName from one
// consistent snapshot; the source is only read.
func (s *Service) Clone(ctx context.Context, sourceID, newName, by string, newID string, progress Progress) (store.ImportStats, error) {
	if strings.TrimSpace(newName) == "" {
		return store.ImportStats{}, apperr.InvalidField("new_name", "must not be empty")
	}
	if _, err := s.DB.Restaurant(ctx, sourceID); err != nil {
		return store.ImportStats{}, err
	}
	tmp, err := s.tempFile("ordersuite-clone-*.zip")
	if err != nil {
		return store.ImportStats{}, err
	}
	defer discard(tmp)
	progress.report(2, "exporting source")
	if _, err := WriteArchive(ctx, s.DB, sourceID, tmp, ExportOptions{AppVersion: s.AppVersion, ExportedBy: by, Now: s.DB.Now(),
		Progress: func(p store.CopyProgress) { progress.copying(2, 27, "exporting", p) }}); err != nil {
		return store.ImportStats{}, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return store.ImportStats{}, err
	}
	return s.Import(ctx, tmp, ImportOptions{NewName: newName, NewID: newID}, progress)
}

// Delete removes a stored backup.
func (s *Service) Delete(ctx context.Context, id string) error {
	b, err := s.Find(ctx, id)
	if err != nil {
		return err
	}
	return s.Storage.Delete(ctx, b.File)
}

// Open returns a stored backup's bytes as stored (encrypted when it is).
func (s *Service) Open(ctx context.Context, id string) (Backup, io.ReadCloser, error) {
	b, err := s.Find(ctx, id)
	if err != nil {
		return b, nil, err
	}
	rc, err := s.Storage.Get(ctx, b.File)
	return b, rc, err
}

// BackupAll backs up every active restaurant; it goes on past a failure and
// reports them all.
func (s *Service) BackupAll(ctx context.Context, by string, progress Progress) ([]Backup, error) {
	rs, err := s.DB.Restaurants(ctx)
	if err != nil {
		return nil, err
	}
	var active []tenancy.Restaurant
	for _, r := range rs {
		if r.Status == tenancy.Active {
			active = append(active, r)
		}
	}
	var out []Backup
	var errs []error
	for i, r := range active {
		progress.report(100*i/max(len(active), 1), "backing up %s (%d of %d)", r.Name, i+1, len(active))
		b, err := s.Export(ctx, r.ID, by, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
			continue
		}
		out = append(out, b)
	}
	progress.report(100, "%d backups made", len(out))
	return out, errors.Join(errs...)
}

// Cleanup keeps the keep newest backups of each restaurant and deletes the
// rest.
func (s *Service) Cleanup(ctx context.Context, keep int) ([]Backup, error) {
	if keep < 1 {
		return nil, apperr.InvalidField("keep", "must be at least 1")
	}
	all, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	var deleted []Backup
	var errs []error
	for _, b := range all { // newest first
		seen[b.RestaurantID]++
		if seen[b.RestaurantID] <= keep {
			continue
		}
		if err := s.Storage.Delete(ctx, b.File); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, b)
	}
	return deleted, errors.Join(errs...)
}

// ValidateAll checks every stored backup.
func (s *Service) ValidateAll(ctx context.Context, progress Progress) ([]Report, error) {
	all, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Report
	for i, b := range all {
		progress.report(100*i/max(len(all), 1), "validating %s", b.ID)
		rep, err := s.Validate(ctx, b.ID)
		if err != nil {
			rep = Report{BackupID: b.ID, Problems: []archive.Problem{{Message: err.Error()}}}
		}
		rep.Manifest = nil
		out = append(out, rep)
	}
	progress.report(100, "%d backups validated", len(all))
	return out, nil
}

// RestoreNewestValid replaces a restaurant with its newest backup that
// validates (emergency response: restore from the last known good backup).
func (s *Service) RestoreNewestValid(ctx context.Context, restaurantID string, progress Progress) (Backup, store.ImportStats, error) {
	if _, err := s.DB.Restaurant(ctx, restaurantID); err != nil {
		return Backup{}, store.ImportStats{}, err
	}
	list, err := s.List(ctx, restaurantID)
	if err != nil {
		return Backup{}, store.ImportStats{}, err
	}
	for _, b := range list {
		rep, err := s.Validate(ctx, b.ID)
		if err != nil || !rep.Valid {
			s.log().WarnContext(ctx, "skipping invalid backup", "backup_id", b.ID, "problems", len(rep.Problems), "err", err)
			continue
		}
		stats, err := s.Restore(ctx, b.ID, ImportOptions{TargetID: restaurantID}, progress)
		return b, stats, err
	}
	return Backup{}, store.ImportStats{}, apperr.Errorf(apperr.NotFound, "no valid backup of restaurant %s", restaurantID)
}
