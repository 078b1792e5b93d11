package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TenantEvent is one row of the per-tenant event log.
type TenantEvent struct {
	RestaurantID string          `json:"restaurant_id"`
	ID           string          `json:"id"`
	Type         string          `json:"event_type"`
	Data         json.RawMessage `json:"event_data"`
	CreatedAt    time.Time       `json:"created_at"`
	// Figures, when set, are what the rollups would read from Data: a
	// writer that encoded Data itself hands them over so Data is not
	// parsed back. They must agree with Data.
	Figures *RequestFigures `json:"-"`
}

// InsertEvents writes a batch of events and their hourly rollups in one
// transaction: a multi-row INSERT on SQLite, COPY on PostgreSQL.
func (db *DB) InsertEvents(ctx context.Context, events []TenantEvent) error {
	if len(events) == 0 {
		return nil
	}
	now := db.Now()
	for i := range events {
		if events[i].ID == "" {
			events[i].ID = NewID()
		}
		if events[i].CreatedAt.IsZero() {
			events[i].CreatedAt = now
		}
		events[i].CreatedAt = events[i].CreatedAt.UTC().Truncate(time.Microsecond)
		events[i].Data = storableJSON(events[i].Data)
	}
	sums := newRollupBatch()
	for _, e := range events {
		sums.add(e)
	}
	if err := db.dialect.insertEvents(ctx, db, events, sums); err != nil {
		if db.isUniqueViolation(err) && db.eventsStored(ctx, events) {
			return nil
		}
		return fmt.Errorf("store: insert events: %w", err)
	}
	return nil
}

// eventsStored reports whether a batch refused for a duplicate key is
// already stored: an earlier attempt committed but its answer was lost
// with the connection, so the writer retried. A batch is written in one
// transaction (its rollups with it), so its first and last events are
// stored exactly when all of it is, and the refused retry, rolled back,
// counted nothing twice.
func (db *DB) eventsStored(ctx context.Context, events []TenantEvent) bool {
	for _, e := range []TenantEvent{events[0], events[len(events)-1]} {
		var n int
		err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM tenant_events WHERE restaurant_id = $1 AND id = $2`,
			e.RestaurantID, e.ID).Scan(&n)
		if err != nil || n == 0 {
			return false
		}
	}
	return true
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// multiRowInsert returns prefix followed by rows groups of cols placeholders
// in the dialect's form.
func multiRowInsert(d dialect, prefix string, cols, rows int) (string, []any) {
	var b strings.Builder
	b.WriteString(prefix)
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.placeholder(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String(), make([]any, 0, cols*rows)
}

// EventsOfType lists the tenant's events of one type, newest first.
func (db *DB) EventsOfType(ctx context.Context, eventType string, limit int) ([]TenantEvent, error) {
	events, _, err := db.listEvents(ctx, EventFilter{Type: eventType}, limit)
	return events, err
}

// EventFilter narrows an events listing; zero fields do not filter. The
// time range is [From, To). After continues a listing: only events older
// than that cursor (the Next of the previous page) are listed.
type EventFilter struct {
	Type     string
	From, To time.Time
	After    EventCursor
}

// EventPage is one page of an events listing, newest first.
type EventPage struct {
	Events []TenantEvent
	// Next is the cursor of the following page; zero on the last page.
	Next EventCursor
	// Total is how many events match the filter, cursor aside.
	Total int
}

// Events lists up to limit of the tenant's events matching f, newest first,
// the cursor of the next page and the number matching. Pages follow
// (created_at, id) down the index from the cursor, so a deep page costs what
// the first does (no OFFSET), and the total comes from the rollups.
func (db *DB) Events(ctx context.Context, f EventFilter, limit int) (EventPage, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return EventPage{}, err
	}
	total, err := db.countEvents(ctx, rid, f)
	if err != nil {
		return EventPage{}, fmt.Errorf("store: count events: %w", err)
	}
	list, next, err := db.listEvents(ctx, f, limit)
	if err != nil {
		return EventPage{}, err
	}
	return EventPage{Events: list, Next: next, Total: total}, nil
}

// listEvents reads one page of the listing f describes, and the cursor of
// the next page (zero when there is none).
func (db *DB) listEvents(ctx context.Context, f EventFilter, limit int) ([]TenantEvent, EventCursor, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, EventCursor{}, err
	}
	where := []string{"restaurant_id = $1"}
	args := []any{rid}
	if f.Type != "" {
		args = append(args, f.Type)
		where = append(where, fmt.Sprintf("event_type = $%d", len(args)))
		if f.Type != "api_request" {
			// SQLite's index by type leaves out request events; its
			// planner uses it only where the query states the condition
			// (PostgreSQL's whole index serves either way).
			where = append(where, "event_type <> 'api_request'")
		}
	}
	if !f.From.IsZero() {
		args = append(args, f.From.UTC())
		where = append(where, fmt.Sprintf("created_at >= $%d", len(args)))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UTC())
		where = append(where, fmt.Sprintf("created_at < $%d", len(args)))
	}
	if !f.After.At.IsZero() {
		// created_at <= cursor bounds the index range; the OR, which the
		// planner cannot use as one, then only sorts out the cursor's own
		// instant. Without the bound PostgreSQL walked the index from the
		// newest event down to the cursor: 0.4 s for a page 900,000 deep.
		args = append(args, f.After.At.UTC(), f.After.ID)
		where = append(where, fmt.Sprintf("created_at <= $%[1]d AND (created_at < $%[1]d OR id < $%[2]d)", len(args)-1, len(args)))
	}
	args = append(args, limit+1)
	rows, err := db.sql.QueryContext(ctx, fmt.Sprintf(`SELECT restaurant_id, id, event_type, event_data, created_at FROM tenant_events
		WHERE %s ORDER BY created_at DESC, id DESC LIMIT $%d`, strings.Join(where, " AND "), len(args)), args...)
	if err != nil {
		return nil, EventCursor{}, wrap("list events", err)
	}
	defer rows.Close()
	out := []TenantEvent{}
	for rows.Next() {
		var e TenantEvent
		var data string
		if err := rows.Scan(&e.RestaurantID, &e.ID, &e.Type, &data, &e.CreatedAt); err != nil {
			return nil, EventCursor{}, wrap("list events", err)
		}
		e.Data, e.CreatedAt = json.RawMessage(data), e.CreatedAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, EventCursor{}, wrap("list events", err)
	}
	var next EventCursor
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = EventCursor{At: last.CreatedAt, ID: last.ID}
	}
	return out, next, nil
}

// countEvents counts the tenant's events matching f without reading them:
// the range is narrowed to the stored events (oldest to newest) and summed
// from the rollups, with the raw log read only for partial hours. Counting
// rows one by one took most of a second per page at a million events.
func (db *DB) countEvents(ctx context.Context, rid string, f EventFilter) (int, error) {
	var oldest, newest time.Time
	err := db.sql.QueryRowContext(ctx, `SELECT created_at FROM tenant_events WHERE restaurant_id = $1 ORDER BY created_at LIMIT 1`, rid).Scan(&oldest)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT created_at FROM tenant_events WHERE restaurant_id = $1 ORDER BY created_at DESC LIMIT 1`, rid).Scan(&newest); err != nil {
		return 0, err
	}
	// The hours from the oldest stored event's to the newest's hold every
	// stored event and only those (retention prunes whole hours, and the
	// rollups are written with their events), so their rollups count
	// exactly; the raw log is read only where a filter's bound cuts an
	// hour. A busy current hour no longer means counting its rows.
	from, to := oldest.UTC().Truncate(time.Hour), newest.UTC().Truncate(time.Hour).Add(time.Hour)
	if f.From.After(from) {
		from = f.From
	}
	if !f.To.IsZero() && f.To.Before(to) {
		to = f.To
	}
	stats, err := db.eventStats(ctx, rid, from, to)
	if err != nil {
		return 0, err
	}
	if f.Type != "" {
		return int(stats[rid].Counts[f.Type]), nil
	}
	n := 0
	for _, c := range stats[rid].Counts {
		n += int(c)
	}
	return n, nil
}
