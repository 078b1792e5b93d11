package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Point-in-time restore: a restaurant as it was at a moment, from its
// newest own full backup taken before the moment and the changes its
// change log recorded after the backup's snapshot, up to the moment.

// ChangeSource gives a restaurant's changes after a base archive's log
// position, of the transactions whose moment is at or before until, in
// replay order. The live database's change log is one (LiveLog); shipped
// log segments are another, for when the database has lost them.
type ChangeSource interface {
	Changes(ctx context.Context, restaurantID string, from store.LogPosition, until time.Time, fn func(store.Change) error) error
}

// LiveLog reads the live database's change log.
type LiveLog struct{ DB *store.DB }

// Changes reads store.DB.ChangesSince.
func (l LiveLog) Changes(ctx context.Context, restaurantID string, from store.LogPosition, until time.Time, fn func(store.Change) error) error {
	return l.DB.ChangesSince(ctx, restaurantID, from, until, fn)
}

func (s *Service) changeSource() ChangeSource {
	if s.Changes != nil {
		return s.Changes
	}
	return LiveLog{DB: s.DB}
}

// PointInTimeOptions say which moment and where to.
type PointInTimeOptions struct {
	// At is the moment to restore to.
	At time.Time
	// Replace restores over the restaurant itself; otherwise a new
	// restaurant is made (NewID when set), so the result can be looked at
	// before anyone replaces anything.
	Replace bool
	NewName string
	NewID   string
}

// PointInTimeResult tells what a point-in-time restore did.
type PointInTimeResult struct {
	// BackupID is the base: the full backup the changes were replayed on.
	BackupID string `json:"backup_id"`
	// BaseAt is the moment the base's snapshot holds every change before.
	BaseAt       time.Time        `json:"base_at"`
	At           time.Time        `json:"at"`
	RestaurantID string           `json:"restaurant_id"`
	Rows         map[string]int64 `json:"rows"`
	Changes      int64            `json:"changes"`
	Skipped      []Skipped        `json:"skipped"`
}

// Base is an archive a point-in-time restore can start from.
type Base struct {
	Backup   Backup
	Position store.LogPosition
}

// PointInTimeBase finds the newest own backup of restaurantID that is a
// base for a restore to at: taken (its snapshot's log position moment) at
// or before at, with a log position of this engine, and valid. The open
// archive's file is returned for the restore to read; the caller discards
// it. Backups passed over are listed with the reason.
func (s *Service) PointInTimeBase(ctx context.Context, restaurantID string, at time.Time) (Base, *os.File, *archive.Archive, []Skipped, error) {
	skipped := []Skipped{}
	list, err := s.List(ctx, restaurantID)
	if err != nil {
		return Base{}, nil, nil, skipped, err
	}
	own := Own(list)
	sort.SliceStable(own, func(i, j int) bool { return own[i].CreatedAt.After(own[j].CreatedAt) })
	var oldest *Backup
	for i, b := range own {
		if b.CreatedAt.After(at) {
			continue // named after the second its export started: later than at
		}
		if oldest == nil || b.CreatedAt.Before(oldest.CreatedAt) {
			oldest = &own[i]
		}
		f, err := s.fetch(ctx, b.ID)
		if err != nil {
			if ctx.Err() != nil {
				return Base{}, nil, nil, skipped, ctx.Err()
			}
			skipped = append(skipped, Skipped{BackupID: b.ID, Reason: "cannot be read: " + err.Error()})
			continue
		}
		st, err := f.Stat()
		if err != nil {
			discard(f)
			return Base{}, nil, nil, skipped, err
		}
		a, _ := archive.Open(f, st.Size(), s.limits())
		switch {
		case a == nil:
			skipped = append(skipped, Skipped{BackupID: b.ID, Reason: "not a readable archive"})
		case a.Manifest.LogPosition == nil:
			skipped = append(skipped, Skipped{BackupID: b.ID, Reason: "written before the change log: it has no log position"})
		case a.Manifest.LogPosition.Engine != s.DB.Engine:
			skipped = append(skipped, Skipped{BackupID: b.ID, Reason: fmt.Sprintf("its log position is one of %s, not of this %s database", a.Manifest.LogPosition.Engine, s.DB.Engine)})
		case a.Manifest.LogPosition.At.After(at):
			skipped = append(skipped, Skipped{BackupID: b.ID, Reason: "its snapshot was taken after the moment"})
		default:
			checked, rep, err := s.openChecked(ctx, f)
			if err != nil {
				discard(f)
				return Base{}, nil, nil, skipped, err
			}
			if !rep.Valid {
				skipped = append(skipped, Skipped{BackupID: b.ID, Reason: "invalid: " + summarize(rep.Problems)})
				break
			}
			return Base{Backup: b, Position: *checked.Manifest.LogPosition}, f, checked, skipped, nil
		}
		discard(f)
	}
	msg := fmt.Sprintf("no own backup of restaurant %s taken at or before %s can be a base", restaurantID, at.UTC().Format(time.RFC3339))
	switch {
	case len(own) == 0:
		msg = fmt.Sprintf("restaurant %s has no own backup: a point-in-time restore starts from one", restaurantID)
	case oldest == nil:
		msg += fmt.Sprintf(" (its oldest backup, %s, was taken %s)", own[len(own)-1].ID, own[len(own)-1].CreatedAt.UTC().Format(time.RFC3339))
	}
	if len(skipped) > 0 {
		reasons := make([]string, len(skipped))
		for i, sk := range skipped {
			reasons[i] = sk.BackupID + ": " + sk.Reason
		}
		msg += " (passed over " + strings.Join(reasons, "; ") + ")"
	}
	return Base{}, nil, nil, skipped, outOfRange("at", "%s", msg)
}

// CheckMoment refuses a moment that cannot be restored to by its value
// alone: missing or in the future.
func (s *Service) CheckMoment(at time.Time) error {
	if at.IsZero() {
		return apperr.InvalidField("at", "is required (RFC 3339)")
	}
	if at.After(s.DB.Now()) {
		return outOfRange("at", "%s is in the future", at.UTC().Format(time.RFC3339))
	}
	return nil
}

func outOfRange(field, format string, args ...any) error {
	return &apperr.Error{Code: apperr.OutOfRange, Field: field, Message: fmt.Sprintf(format, args...)}
}

// RestorePointInTime restores restaurantID as it was at opt.At: into a new
// restaurant, or over itself with opt.Replace, in one transaction (all or
// nothing).
func (s *Service) RestorePointInTime(ctx context.Context, restaurantID string, opt PointInTimeOptions, progress Progress) (PointInTimeResult, error) {
	res := PointInTimeResult{At: opt.At.UTC(), Skipped: []Skipped{}}
	if !store.ValidID(restaurantID) {
		return res, apperr.InvalidField("restaurant_id", "malformed restaurant id")
	}
	if err := s.CheckMoment(opt.At); err != nil {
		return res, err
	}
	if opt.Replace {
		if _, err := s.DB.Restaurant(ctx, restaurantID); err != nil {
			return res, err
		}
	}
	progress.report(1, "finding the newest backup before %s", res.At.Format(time.RFC3339))
	base, f, a, skipped, err := s.PointInTimeBase(ctx, restaurantID, opt.At)
	res.Skipped = skipped
	if err != nil {
		return res, err
	}
	defer discard(f)
	res.BackupID, res.BaseAt = base.Backup.ID, base.Position.At
	src := s.changeSource()
	imp := ImportOptions{NewName: opt.NewName, NewID: opt.NewID}
	if opt.Replace {
		imp.TargetID = restaurantID
	}
	changes := func(ctx context.Context, fn func(store.Change) error) error {
		return src.Changes(ctx, restaurantID, base.Position, opt.At, fn)
	}
	stats, err := s.importArchive(ctx, a, imp, changes, progress)
	if errors.Is(err, store.ErrLogReset) {
		return res, outOfRange("at", "%v", err)
	}
	if err != nil {
		return res, err
	}
	res.RestaurantID, res.Rows, res.Changes = stats.RestaurantID, stats.Rows, stats.Changes
	s.log().InfoContext(ctx, "tenant restored to a moment", "restaurant_id", restaurantID, "into", stats.RestaurantID,
		"at", res.At, "base", base.Backup.ID, "changes", stats.Changes, "replace", opt.Replace)
	return res, nil
}

// TableDiff is what changed in one table between two moments, row by row:
// a row inserted and then deleted in the span counts nowhere, one deleted
// and inserted again counts as updated.
type TableDiff struct {
	Table    string `json:"table"`
	Inserted int64  `json:"inserted"`
	Updated  int64  `json:"updated"`
	Deleted  int64  `json:"deleted"`
	// ChangedColumns are the columns the updates changed.
	ChangedColumns []string `json:"changed_columns"`
	// Examples are the ids of a few changed rows, with what happened to
	// each.
	Examples []DiffExample `json:"examples"`
}

// DiffExample is one changed row.
type DiffExample struct {
	ID string `json:"id"`
	Op string `json:"op"`
	// At is the moment of the row's last change in the span.
	At time.Time `json:"at"`
}

// Diff is what changed in a restaurant between two moments.
type Diff struct {
	RestaurantID string      `json:"restaurant_id"`
	From         time.Time   `json:"from"`
	To           time.Time   `json:"to"`
	Transactions int         `json:"transactions"`
	Changes      int         `json:"changes"`
	Tables       []TableDiff `json:"tables"`
}

// DiffExamples is how many example rows a table's diff names.
const DiffExamples = 10

// Diff tells what changed in restaurantID after from and up to to, from
// the live change log: the transactions whose moment is in (from, to].
func (s *Service) Diff(ctx context.Context, restaurantID string, from, to time.Time) (Diff, error) {
	d := Diff{RestaurantID: restaurantID, From: from.UTC(), To: to.UTC(), Tables: []TableDiff{}}
	switch {
	case !store.ValidID(restaurantID):
		return d, apperr.InvalidField("restaurant_id", "malformed restaurant id")
	case from.IsZero():
		return d, apperr.InvalidField("from", "is required (RFC 3339)")
	case to.IsZero():
		return d, apperr.InvalidField("to", "is required (RFC 3339)")
	case to.Before(from):
		return d, apperr.InvalidField("to", "is before from")
	}
	if _, err := s.DB.Restaurant(ctx, restaurantID); err != nil {
		return d, err
	}
	type rowState struct {
		first, last string
		at          time.Time
		cols        map[string]bool
	}
	rows := map[string]map[string]*rowState{} // table → id → state
	var order []string                        // tables in first-change order
	txs := map[string]bool{}
	err := s.DB.ChangesSince(ctx, restaurantID, store.LogPosition{}, to, func(c store.Change) error {
		if !c.TxAt.After(from) {
			return nil
		}
		d.Changes++
		txs[c.Tx] = true
		id := fmt.Sprint(c.Row[idColumn(c.Table)])
		byID := rows[c.Table]
		if byID == nil {
			byID = map[string]*rowState{}
			rows[c.Table] = byID
			order = append(order, c.Table)
		}
		st := byID[id]
		if st == nil {
			st = &rowState{first: string(c.Op), cols: map[string]bool{}}
			byID[id] = st
		}
		st.last, st.at = string(c.Op), c.TxAt
		for col := range c.Old {
			st.cols[col] = true
		}
		return nil
	})
	if errors.Is(err, store.ErrLogReset) {
		return d, outOfRange("from", "%v", err)
	}
	if err != nil {
		return d, err
	}
	d.Transactions = len(txs)
	for _, table := range order {
		td := TableDiff{Table: table, ChangedColumns: []string{}, Examples: []DiffExample{}}
		cols := map[string]bool{}
		ids := make([]string, 0, len(rows[table]))
		for id := range rows[table] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			st := rows[table][id]
			var op string
			switch {
			case st.first == "insert" && st.last == "delete":
				continue
			case st.first == "insert":
				op = "insert"
				td.Inserted++
			case st.last == "delete":
				op = "delete"
				td.Deleted++
			default:
				op = "update"
				td.Updated++
				for c := range st.cols {
					cols[c] = true
				}
			}
			if len(td.Examples) < DiffExamples {
				td.Examples = append(td.Examples, DiffExample{ID: id, Op: op, At: st.at})
			}
		}
		for c := range cols {
			td.ChangedColumns = append(td.ChangedColumns, c)
		}
		sort.Strings(td.ChangedColumns)
		if td.Inserted+td.Updated+td.Deleted > 0 {
			d.Tables = append(d.Tables, td)
		}
	}
	return d, nil
}

func idColumn(string) string { return "id" }

// PruneLogs deletes from each restaurant's live change log the changes its
// oldest own backup with a log position already holds: every restore
// starts from that backup or a later one. Cleanup runs it once it has
// deleted old backups. It goes on past a failure and returns the changes
// deleted.
func (s *Service) PruneLogs(ctx context.Context) (int64, error) {
	all, err := s.List(ctx, "")
	if err != nil {
		return 0, err
	}
	byRestaurant := map[string][]Backup{}
	for _, b := range Own(all) {
		byRestaurant[b.RestaurantID] = append(byRestaurant[b.RestaurantID], b)
	}
	var total int64
	var errs []error
	for rid, list := range byRestaurant {
		sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
		for _, b := range list { // oldest first
			pos, err := s.logPosition(ctx, b)
			if err != nil {
				errs = append(errs, fmt.Errorf("restaurant %s: %w", rid, err))
				break
			}
			if pos == nil {
				continue // written before the change log: not a base
			}
			n, err := s.DB.PruneChanges(ctx, rid, *pos)
			if err != nil && !apperr.Is(err, apperr.Invalid) {
				errs = append(errs, fmt.Errorf("restaurant %s: %w", rid, err))
			}
			total += n
			break
		}
	}
	return total, errors.Join(errs...)
}

// logPosition reads a stored backup's log position from its manifest.
func (s *Service) logPosition(ctx context.Context, b Backup) (*store.LogPosition, error) {
	f, err := s.fetch(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	defer discard(f)
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, ps := archive.Open(f, st.Size(), s.limits())
	if a == nil {
		return nil, fmt.Errorf("backup %s: %s", b.ID, summarize(ps))
	}
	return a.Manifest.LogPosition, nil
}
