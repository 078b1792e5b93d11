package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
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
	// Metrics, when set, counts the failures of each destination.
	Metrics *metrics.Metrics
	// Changes gives the changes a point-in-time restore replays after its
	// base archive; nil reads the live database's change log (LiveLog).
	Changes ChangeSource

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
	ID           string `json:"id"`
	RestaurantID string `json:"restaurant_id"`
	// CreatedAt is when this installation stored it (its own clock, for a
	// received archive too).
	CreatedAt time.Time `json:"created_at"`
	Size      int64     `json:"size"`
	Encrypted bool      `json:"encrypted"`
	File      string    `json:"file"`
	// Origin is read from the stored name: own backups and received
	// archives are told apart without the database.
	Origin     Origin      `json:"origin"`
	Provenance *Provenance `json:"provenance,omitempty"`
	// FailedDestinations are the destinations that did not take a copy
	// (the backup succeeded on the others).
	FailedDestinations []DestinationFailure `json:"failed_destinations,omitempty"`
}

func backupOf(o Object) (Backup, bool) {
	id, ext := splitName(o.Name)
	rid, at, origin, ok := parseID(id)
	if !ok || (ext != ".zip" && ext != ".zip.age") {
		return Backup{}, false
	}
	return Backup{ID: id, RestaurantID: rid, CreatedAt: at, Size: o.Size, Encrypted: ext == ".zip.age", File: o.Name, Origin: origin}, true
}

// Own keeps the backups this installation made itself, the only ones
// restore latest, cleanup and the schedule count.
func Own(list []Backup) []Backup {
	var out []Backup
	for _, b := range list {
		if b.Origin == OriginBackup {
			out = append(out, b)
		}
	}
	return out
}

// List returns every stored archive, own and received, newest first; of
// one restaurant when restaurantID is set. Destinations that do not answer
// are left out (and counted); it fails only when none answers.
func (s *Service) List(ctx context.Context, restaurantID string) ([]Backup, error) {
	list, _, err := s.list(ctx, restaurantID)
	return list, err
}

// Catalog is List with each archive's provenance and the destinations that
// did not answer, for people (backup list, GET backups).
func (s *Service) Catalog(ctx context.Context, restaurantID string) ([]Backup, []DestinationFailure, error) {
	list, failed, err := s.list(ctx, restaurantID)
	if err != nil {
		return nil, failed, err
	}
	s.Describe(ctx, list)
	return list, failed, nil
}

func (s *Service) list(ctx context.Context, restaurantID string) ([]Backup, []DestinationFailure, error) {
	objs, err := s.destinations().List(ctx)
	failed, err := s.tolerate(ctx, err)
	if err != nil {
		return nil, failed, fmt.Errorf("backup: list %s: %w", s.Storage, err)
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
	return out, failed, nil
}

// destinations is the storage as a Mirror, so one destination or several
// fail the same way.
func (s *Service) destinations() Mirror {
	if m, ok := s.Storage.(Mirror); ok {
		return m
	}
	return Mirror{s.Storage}
}

// tolerate reports the destinations that failed an operation (log and
// metric) and returns the error only when no destination succeeded.
func (s *Service) tolerate(ctx context.Context, err error) ([]DestinationFailure, error) {
	var de *DestinationErrors
	if !errors.As(err, &de) {
		return nil, err
	}
	if ctx.Err() == nil { // a cancelled operation is no destination's fault
		for _, f := range de.Failures {
			if s.Metrics != nil {
				s.Metrics.BackupDestinationErrors.WithLabelValues(f.Destination).Inc()
			}
			s.log().WarnContext(ctx, "backup destination failed", "destination", f.Location, "op", f.Op, "err", f.Error)
		}
	}
	if de.Succeeded > 0 {
		return de.Failures, nil
	}
	return de.Failures, err
}

// put stores one file in every destination that answers.
func (s *Service) put(ctx context.Context, name string, r io.Reader) ([]DestinationFailure, error) {
	return s.tolerate(ctx, s.destinations().Put(ctx, name, r))
}

// get reads one file from the first destination that has it.
func (s *Service) get(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.destinations().Get(ctx, name)
	if _, err := s.tolerate(ctx, err); err != nil {
		return nil, err
	}
	return rc, nil
}

// remove deletes an archive and its provenance wherever they are.
func (s *Service) remove(ctx context.Context, b Backup) error {
	if _, err := s.tolerate(ctx, s.destinations().Delete(ctx, b.File)); err != nil {
		return err
	}
	if _, err := s.tolerate(ctx, s.destinations().Delete(ctx, b.ID+provenanceExt)); err != nil && !errors.Is(err, ErrNotStored) {
		s.log().WarnContext(ctx, "provenance not deleted", "backup_id", b.ID, "err", err)
	}
	return nil
}

// Find returns the stored archive with id.
func (s *Service) Find(ctx context.Context, id string) (Backup, error) {
	if _, _, _, ok := parseID(id); !ok {
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

// Export backs up one restaurant to storage, at a person's request.
func (s *Service) Export(ctx context.Context, restaurantID, exportedBy string, progress Progress) (Backup, error) {
	return s.export(ctx, restaurantID, exportedBy, ReasonManual, progress)
}

// export backs up one restaurant to every destination that answers; the
// backup succeeds when one copy was written, and says which destinations
// failed.
func (s *Service) export(ctx context.Context, restaurantID, exportedBy string, reason Reason, progress Progress) (Backup, error) {
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
	id, err := s.freeID(ctx, OriginBackup, r.ID, now)
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
	failed, err := s.put(ctx, name, src)
	if err != nil {
		return Backup{}, fmt.Errorf("backup: store %s: %w", name, err)
	}
	prov := Provenance{Origin: OriginBackup, Reason: reason, By: exportedBy, At: now.UTC()}
	failed = s.storeProvenance(ctx, m.ExportID, prov, failed)
	size := int64(0)
	if st, err := tmp.Stat(); err == nil {
		size = st.Size()
	}
	s.log().InfoContext(ctx, "tenant exported", "restaurant_id", r.ID, "backup_id", m.ExportID, "bytes", size, "failed_destinations", len(failed))
	progress.report(100, "stored %s", m.ExportID)
	return Backup{ID: m.ExportID, RestaurantID: r.ID, CreatedAt: m.ExportedAt.Truncate(time.Second), Size: size,
		Encrypted: s.Cipher != nil, File: name, Origin: OriginBackup, Provenance: &prov, FailedDestinations: failed}, nil
}

// storeProvenance writes the provenance beside an archive already stored.
// Its loss costs only detail (the name still says own or received), so a
// failure is reported with the archive's, not raised.
func (s *Service) storeProvenance(ctx context.Context, id string, p Provenance, failed []DestinationFailure) []DestinationFailure {
	more, err := s.writeProvenance(ctx, id, p)
	if err != nil {
		s.log().WarnContext(ctx, "provenance not stored", "backup_id", id, "err", err)
	}
	for _, f := range more {
		if !slices.ContainsFunc(failed, func(g DestinationFailure) bool { return g.Location == f.Location }) {
			failed = append(failed, f)
		}
	}
	return failed
}

// freeID picks an id not yet used (two archives within one second get a
// numeric suffix), named for the archive's origin.
func (s *Service) freeID(ctx context.Context, origin Origin, rid string, now time.Time) (string, error) {
	existing, err := s.List(ctx, rid)
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, b := range existing {
		used[b.ID] = true
	}
	base := archive.ExportID(rid, now)
	if origin == OriginReceived {
		base = receivedID(rid, now)
	}
	id := base
	for i := 2; used[id]; i++ {
		id = fmt.Sprintf("%s_%d", base, i)
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
	rc, err := s.get(ctx, b.File)
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
	s.checkArrival(&rep)
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

// Import validates an archive file from outside (not a stored backup) and
// writes it in one transaction; like an upload, it is refused when dated in
// the future.
func (s *Service) Import(ctx context.Context, f *os.File, opt ImportOptions, progress Progress) (store.ImportStats, error) {
	return s.importFile(ctx, f, opt, true, progress)
}

// importFile imports; arriving archives (not stored here) are also held to
// the clock, as ValidateReader and Receive hold them. A stored archive was
// checked when it arrived, or made here: a clock stepped back must not make
// the newest backups unusable.
func (s *Service) importFile(ctx context.Context, f *os.File, opt ImportOptions, arriving bool, progress Progress) (store.ImportStats, error) {
	progress.report(2, "validating archive")
	a, rep, err := s.openChecked(ctx, f)
	if err != nil {
		return store.ImportStats{}, err
	}
	if arriving {
		s.checkArrival(&rep)
	}
	if !rep.Valid {
		return store.ImportStats{}, apperr.Errorf(apperr.Invalid, "%s", (&InvalidArchive{rep.Problems}).Error())
	}
	return s.importArchive(ctx, a, opt, nil, progress)
}

// importArchive imports a validated archive, then replays changes when
// given (a point-in-time restore), in one transaction.
func (s *Service) importArchive(ctx context.Context, a *archive.Archive, opt ImportOptions, changes func(context.Context, func(store.Change) error) error, progress Progress) (store.ImportStats, error) {
	spec := store.ImportSpec{TargetID: opt.TargetID, Replace: opt.TargetID != "", NewName: strings.TrimSpace(opt.NewName), Tables: a.Tables(exportTables()),
		Rows: manifestRows(a), Progress: func(p store.CopyProgress) { progress.copying(30, 95, "importing", p) }, Changes: changes}
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
	return s.importFile(ctx, f, opt, false, progress)
}

// ImportReader imports an archive given as a stream (an upload).
func (s *Service) ImportReader(ctx context.Context, r io.Reader, opt ImportOptions, progress Progress) (store.ImportStats, error) {
	f, err := s.localCopy(ctx, r)
	if err != nil {
		return store.ImportStats{}, err
	}
	defer discard(f)
	return s.importFile(ctx, f, opt, true, progress)
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
	return s.importFile(ctx, tmp, ImportOptions{NewName: newName, NewID: newID}, false, progress)
}

// Delete removes a stored archive (own or received) and its provenance.
func (s *Service) Delete(ctx context.Context, id string) error {
	b, err := s.Find(ctx, id)
	if err != nil {
		return err
	}
	return s.remove(ctx, b)
}

// Open returns a stored backup's bytes as stored (encrypted when it is).
func (s *Service) Open(ctx context.Context, id string) (Backup, io.ReadCloser, error) {
	b, err := s.Find(ctx, id)
	if err != nil {
		return b, nil, err
	}
	rc, err := s.get(ctx, b.File)
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
		b, err := s.export(ctx, r.ID, by, ReasonScheduled, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
			continue
		}
		out = append(out, b)
	}
	progress.report(100, "%d backups made", len(out))
	return out, errors.Join(errs...)
}

// Cleanup keeps the keep newest own backups of each restaurant and deletes
// the older ones. Received archives are neither counted nor deleted (an
// operator deletes them by id). A restaurant's newest backup that validates
// is kept even when it is older than the keep newest: otherwise a run of
// broken backups would delete the last good one.
func (s *Service) Cleanup(ctx context.Context, keep int) ([]Backup, error) {
	if keep < 1 {
		return nil, apperr.InvalidField("keep", "must be at least 1")
	}
	all, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	byRestaurant := map[string][]Backup{}
	var order []string
	for _, b := range Own(all) { // newest first
		if byRestaurant[b.RestaurantID] == nil {
			order = append(order, b.RestaurantID)
		}
		byRestaurant[b.RestaurantID] = append(byRestaurant[b.RestaurantID], b)
	}
	var deleted []Backup
	var errs []error
	for _, rid := range order {
		list := byRestaurant[rid]
		if len(list) <= keep {
			continue
		}
		good, err := s.newestValid(ctx, list)
		if err != nil {
			errs = append(errs, fmt.Errorf("restaurant %s: nothing deleted: %w", rid, err))
			continue
		}
		for _, b := range list[keep:] {
			if b.ID == good {
				s.log().InfoContext(ctx, "kept the newest valid backup beyond keep", "restaurant_id", rid, "backup_id", b.ID, "keep", keep)
				continue
			}
			if err := s.remove(ctx, b); err != nil {
				errs = append(errs, err)
				continue
			}
			deleted = append(deleted, b)
		}
	}
	// The change log before the oldest backup kept is needed by no restore.
	if _, err := s.PruneLogs(ctx); err != nil {
		errs = append(errs, fmt.Errorf("prune the change logs: %w", err))
	}
	// The change log segments only deleted backups needed go with them.
	if _, err := s.PruneSegments(ctx); err != nil {
		errs = append(errs, fmt.Errorf("prune the change log segments: %w", err))
	}
	return deleted, errors.Join(errs...)
}

// newestValid returns the id of the first backup of list (newest first)
// that validates, "" when none does. An error means validity could not be
// told (a destination down), so nothing should be deleted on its account.
func (s *Service) newestValid(ctx context.Context, list []Backup) (string, error) {
	for _, b := range list {
		rep, err := s.Validate(ctx, b.ID)
		switch {
		case err == nil && rep.Valid:
			return b.ID, nil
		case err == nil, apperr.Is(err, apperr.Invalid), apperr.Is(err, apperr.TooLarge):
			continue
		default:
			return "", fmt.Errorf("cannot tell whether %s is valid: %w", b.ID, err)
		}
	}
	return "", nil
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

// Skipped is a backup restore latest passed over, and why.
type Skipped struct {
	BackupID string `json:"backup_id"`
	Reason   string `json:"reason"`
}

// LatestRestore is the outcome of restore latest: the backup used and
// every newer one skipped.
type LatestRestore struct {
	Backup  Backup            `json:"backup"`
	Stats   store.ImportStats `json:"stats"`
	Skipped []Skipped         `json:"skipped"`
}

// RestoreNewestValid replaces a restaurant with its newest own backup that
// validates and imports (emergency response: restore from the last known
// good backup). It falls back newest first, and says why it skipped each
// backup; received archives are never considered.
func (s *Service) RestoreNewestValid(ctx context.Context, restaurantID string, progress Progress) (LatestRestore, error) {
	res := LatestRestore{Skipped: []Skipped{}}
	if _, err := s.DB.Restaurant(ctx, restaurantID); err != nil {
		return res, err
	}
	list, err := s.List(ctx, restaurantID)
	if err != nil {
		return res, err
	}
	skip := func(b Backup, reason string) {
		s.log().WarnContext(ctx, "restore latest skipped a backup", "backup_id", b.ID, "reason", reason)
		res.Skipped = append(res.Skipped, Skipped{BackupID: b.ID, Reason: reason})
	}
	for _, b := range Own(list) {
		rep, err := s.Validate(ctx, b.ID)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err != nil {
			skip(b, "cannot be read: "+err.Error())
			continue
		}
		if !rep.Valid {
			skip(b, "invalid: "+summarize(rep.Problems))
			continue
		}
		stats, err := s.Restore(ctx, b.ID, ImportOptions{TargetID: restaurantID}, progress)
		if err == nil {
			res.Backup, res.Stats = b, stats
			return res, nil
		}
		// An import is one transaction: a failed one left the restaurant as
		// it was, so an older backup may still be tried. A conflict (another
		// restore) or a cancelled context is no fault of this backup.
		if ctx.Err() != nil || apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.Locked) {
			return res, err
		}
		skip(b, "import failed: "+err.Error())
	}
	msg := fmt.Sprintf("no own backup of restaurant %s validates", restaurantID)
	if len(res.Skipped) > 0 {
		reasons := make([]string, len(res.Skipped))
		for i, sk := range res.Skipped {
			reasons[i] = sk.BackupID + ": " + sk.Reason
		}
		msg += " (skipped " + strings.Join(reasons, "; ") + ")"
	}
	return res, apperr.Errorf(apperr.NotFound, "%s", msg)
}

// summarize names the first problems of a report in one line.
func summarize(ps []archive.Problem) string {
	const shown = 3
	msgs := make([]string, 0, shown)
	for i, p := range ps {
		if i == shown {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(ps)-shown))
			break
		}
		msgs = append(msgs, p.String())
	}
	return strings.Join(msgs, "; ")
}
