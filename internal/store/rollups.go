package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DurationBucketsMS are the inclusive upper bounds, in milliseconds, of the
// request-duration histogram kept in the hourly rollups; one more bucket
// holds the requests slower than the last bound. They are Prometheus's
// default buckets in milliseconds, so a percentile read from the rollups
// and one from tenant_request_duration_seconds agree.
var DurationBucketsMS = [...]int64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// DurationBuckets is how many buckets the histogram has, the open-ended
// last one included.
const DurationBuckets = len(DurationBucketsMS) + 1

// durationColumns name the histogram's columns, in bucket order.
var durationColumns = func() []string {
	cols := make([]string, 0, DurationBuckets)
	for _, b := range DurationBucketsMS {
		cols = append(cols, fmt.Sprintf("duration_le_%d", b))
	}
	return append(cols, "duration_le_inf")
}()

// DurationBucket is the histogram bucket of a duration in milliseconds.
func DurationBucket(ms int64) int {
	for i, b := range DurationBucketsMS {
		if ms <= b {
			return i
		}
	}
	return len(DurationBucketsMS)
}

// RequestFigures are the fields of an event the rollups read. Numbers that
// are not JSON numbers read as 0, as in the SQL over the raw log.
type RequestFigures struct {
	DurationMS float64 `json:"duration_ms"`
	Status     float64 `json:"status"`
	UserID     string  `json:"user_id"`
	Route      string  `json:"route"`
	Method     string  `json:"method"`
}

// rollupKey identifies one hourly rollup row.
type rollupKey struct {
	restaurantID string
	bucket       time.Time
	eventType    string
}

// rollupSums are the increments of one rollup row. Status classes and
// durations are kept for api_request events only.
type rollupSums struct {
	count, durationMS int64
	// status counts 2xx, 3xx, 4xx and 5xx (status >= 500) answers.
	status    [4]int64
	durations [DurationBuckets]int64
}

// routeKey identifies one hourly row of a route's traffic.
type routeKey struct {
	restaurantID string
	bucket       time.Time
	method       string
	route        string
}

type routeSums struct{ count, durationMS, serverErrors int64 }

type dailyUser struct{ restaurantID, day, userID string }

// rollupBatch folds events into the increments of their rollups.
type rollupBatch struct {
	events map[rollupKey]*rollupSums
	routes map[routeKey]*routeSums
	users  []dailyUser
	seen   map[dailyUser]bool
}

func newRollupBatch() *rollupBatch {
	return &rollupBatch{events: map[rollupKey]*rollupSums{}, routes: map[routeKey]*routeSums{}, seen: map[dailyUser]bool{}}
}

// maxRouteLabel bounds the route and method kept per row; longer values
// (never a route pattern) are cut, so hostile payloads cannot grow the table.
const maxRouteLabel = 200

func (r *rollupBatch) add(e TenantEvent) {
	hour := e.CreatedAt.UTC().Truncate(time.Hour)
	k := rollupKey{e.RestaurantID, hour, e.Type}
	s := r.events[k]
	if s == nil {
		s = &rollupSums{}
		r.events[k] = s
	}
	s.count++
	if e.Type != "api_request" && e.Type != "user_login" {
		return
	}
	var f RequestFigures
	if e.Figures != nil {
		f = *e.Figures
	} else {
		f = readFigures(e.Data)
	}
	if e.Type == "user_login" {
		if f.UserID != "" {
			u := dailyUser{e.RestaurantID, e.CreatedAt.UTC().Format(time.DateOnly), f.UserID}
			if !r.seen[u] {
				r.seen[u] = true
				r.users = append(r.users, u)
			}
		}
		return
	}
	ms := int64(f.DurationMS)
	s.durationMS += ms
	s.durations[DurationBucket(ms)]++
	serverError := int64(0)
	switch status := int64(f.Status); {
	case status >= 500:
		s.status[3]++
		serverError = 1
	case status >= 400:
		s.status[2]++
	case status >= 300:
		s.status[1]++
	case status >= 200:
		s.status[0]++
	}
	rk := routeKey{e.RestaurantID, hour, clip(f.Method), clip(f.Route)}
	rs := r.routes[rk]
	if rs == nil {
		rs = &routeSums{}
		r.routes[rk] = rs
	}
	rs.count++
	rs.durationMS += ms
	rs.serverErrors += serverError
}

func clip(s string) string {
	if len(s) <= maxRouteLabel {
		return s
	}
	s = s[:maxRouteLabel]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// rollupColumns are the columns of an event-rollup upsert, in order.
var rollupColumns = append([]string{"restaurant_id", "id", "bucket", "event_type", "event_count", "duration_ms_sum",
	"status_2xx", "status_3xx", "status_4xx", "server_errors"}, durationColumns...)

// rollupsPerStatement keeps a multi-row upsert under either engine's limit
// of bound parameters.
const rollupsPerStatement = 400

// writeRollups adds the batch's increments to the rollups inside the
// transaction that writes its events: each row is an upsert whose conflict
// branch adds, so any number of writers, on any number of instances, each
// count their own events exactly once. Rows are written in key order, so
// two writers touching the same rows take their locks in the same order and
// cannot deadlock.
func writeRollups(ctx context.Context, d dialect, tx execer, b *rollupBatch) error {
	keys := make([]rollupKey, 0, len(b.events))
	for k := range b.events {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y rollupKey) int {
		return cmp.Or(cmp.Compare(x.restaurantID, y.restaurantID), x.bucket.Compare(y.bucket), cmp.Compare(x.eventType, y.eventType))
	})
	var set strings.Builder
	for i, c := range rollupColumns[4:] {
		if i > 0 {
			set.WriteString(", ")
		}
		fmt.Fprintf(&set, "%[1]s = tenant_event_rollups.%[1]s + excluded.%[1]s", c)
	}
	for start := 0; start < len(keys); start += rollupsPerStatement {
		chunk := keys[start:min(start+rollupsPerStatement, len(keys))]
		q, args := multiRowInsert(d, `INSERT INTO tenant_event_rollups (`+strings.Join(rollupColumns, ", ")+`) VALUES `, len(rollupColumns), len(chunk))
		for _, k := range chunk {
			s := b.events[k]
			args = append(args, k.restaurantID, NewID(), k.bucket, k.eventType, s.count, s.durationMS,
				s.status[0], s.status[1], s.status[2], s.status[3])
			for _, n := range s.durations {
				args = append(args, n)
			}
		}
		q += ` ON CONFLICT (restaurant_id, bucket, event_type) DO UPDATE SET ` + set.String()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}

	routes := make([]routeKey, 0, len(b.routes))
	for k := range b.routes {
		routes = append(routes, k)
	}
	slices.SortFunc(routes, func(x, y routeKey) int {
		return cmp.Or(cmp.Compare(x.restaurantID, y.restaurantID), x.bucket.Compare(y.bucket),
			cmp.Compare(x.method, y.method), cmp.Compare(x.route, y.route))
	})
	for start := 0; start < len(routes); start += rollupsPerStatement {
		chunk := routes[start:min(start+rollupsPerStatement, len(routes))]
		q, args := multiRowInsert(d, `INSERT INTO tenant_route_rollups (restaurant_id, id, bucket, method, route, request_count, duration_ms_sum, server_errors) VALUES `, 8, len(chunk))
		for _, k := range chunk {
			s := b.routes[k]
			args = append(args, k.restaurantID, NewID(), k.bucket, k.method, k.route, s.count, s.durationMS, s.serverErrors)
		}
		q += ` ON CONFLICT (restaurant_id, bucket, method, route) DO UPDATE SET
			request_count = tenant_route_rollups.request_count + excluded.request_count,
			duration_ms_sum = tenant_route_rollups.duration_ms_sum + excluded.duration_ms_sum,
			server_errors = tenant_route_rollups.server_errors + excluded.server_errors`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}

	users := slices.Clone(b.users)
	slices.SortFunc(users, func(x, y dailyUser) int {
		return cmp.Or(cmp.Compare(x.restaurantID, y.restaurantID), cmp.Compare(x.day, y.day), cmp.Compare(x.userID, y.userID))
	})
	for start := 0; start < len(users); start += sqliteRowsPerInsert {
		chunk := users[start:min(start+sqliteRowsPerInsert, len(users))]
		q, args := multiRowInsert(d, `INSERT INTO tenant_daily_users (restaurant_id, id, day, user_id) VALUES `, 4, len(chunk))
		for _, u := range chunk {
			args = append(args, u.restaurantID, NewID(), u.day, u.userID)
		}
		q += ` ON CONFLICT (restaurant_id, day, user_id) DO NOTHING`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// RollupStats sums the tenant's hourly rollups of the hours that overlap
// [from, to): the partial hours at either end count whole, so a report reads
// a few dozen rows whatever the traffic, and the current hour is as exact
// as the closed ones. Status classes and durations count api_request events.
type RollupStats struct {
	// Counts is the number of events of each type.
	Counts map[string]int64 `json:"counts"`
	// DurationMSSum is the summed duration of the api_request events.
	DurationMSSum int64 `json:"duration_ms_sum"`
	// Status2xx … ServerErrors count api_request events by status class;
	// ServerErrors is status >= 500.
	Status2xx    int64 `json:"status_2xx"`
	Status3xx    int64 `json:"status_3xx"`
	Status4xx    int64 `json:"status_4xx"`
	ServerErrors int64 `json:"server_errors"`
	// DurationHistogram counts api_request events per duration bucket
	// (DurationBucketsMS, then the open-ended one); not cumulative.
	DurationHistogram [DurationBuckets]int64 `json:"duration_histogram"`
}

// HourRange returns the hours that overlap [from, to): from its hour's start
// to the end of to's hour (to's own hour excluded when to is on the hour).
func HourRange(from, to time.Time) (first, end time.Time) {
	first = from.UTC().Truncate(time.Hour)
	end = to.UTC().Truncate(time.Hour)
	if end.Before(to.UTC()) {
		end = end.Add(time.Hour)
	}
	return first, end
}

// EventStats sums the tenant's rollups of the hours overlapping [from, to).
func (db *DB) EventStats(ctx context.Context, from, to time.Time) (RollupStats, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return RollupStats{}, err
	}
	all, err := db.rollupStats(ctx, rid, from, to)
	if err != nil {
		return RollupStats{}, err
	}
	s := all[rid]
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	return s, nil
}

// AllTenantsEventStats is EventStats for every tenant at once, for the
// platform overview.
func (db *DB) AllTenantsEventStats(ctx context.Context, from, to time.Time) (map[string]RollupStats, error) {
	return db.rollupStats(ctx, "", from, to)
}

func (db *DB) rollupStats(ctx context.Context, rid string, from, to time.Time) (map[string]RollupStats, error) {
	out := map[string]RollupStats{}
	first, end := HourRange(from, to)
	if !first.Before(end) {
		return out, nil
	}
	sums := make([]string, 0, len(rollupColumns)-4)
	for _, c := range rollupColumns[4:] {
		sums = append(sums, "SUM("+c+")")
	}
	filter, args := "", []any{first, end}
	if rid != "" {
		filter, args = " AND restaurant_id = $3", append(args, rid)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT restaurant_id, event_type, `+strings.Join(sums, ", ")+`
		FROM tenant_event_rollups WHERE bucket >= $1 AND bucket < $2`+filter+` GROUP BY restaurant_id, event_type`, args...)
	if err != nil {
		return nil, wrap("rollup stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r, typ string
		var n, dur int64
		var status [4]int64
		var hist [DurationBuckets]int64
		dest := []any{&r, &typ, &n, &dur, &status[0], &status[1], &status[2], &status[3]}
		for i := range hist {
			dest = append(dest, &hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, wrap("rollup stats", err)
		}
		s := out[r]
		if s.Counts == nil {
			s.Counts = map[string]int64{}
		}
		s.Counts[typ] += n
		s.DurationMSSum += dur
		s.Status2xx += status[0]
		s.Status3xx += status[1]
		s.Status4xx += status[2]
		s.ServerErrors += status[3]
		for i, c := range hist {
			s.DurationHistogram[i] += c
		}
		out[r] = s
	}
	return out, wrap("rollup stats", rows.Err())
}

// RouteStat is one route's traffic in a tenant's log.
type RouteStat struct {
	Method, Route string
	Count         int64
	ServerErrors  int64
	DurationMSSum int64
}

// TopRoutes lists the tenant's busiest routes (the route pattern of each
// api_request event) in the hours overlapping [from, to), busiest first,
// from the route rollups.
func (db *DB) TopRoutes(ctx context.Context, from, to time.Time, limit int) ([]RouteStat, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	first, end := HourRange(from, to)
	rows, err := db.sql.QueryContext(ctx, `SELECT method, route, SUM(request_count), SUM(server_errors), SUM(duration_ms_sum)
		FROM tenant_route_rollups WHERE restaurant_id = $1 AND bucket >= $2 AND bucket < $3
		GROUP BY method, route ORDER BY 3 DESC, route, method LIMIT $4`, rid, first, end, limit)
	if err != nil {
		return nil, wrap("top routes", err)
	}
	defer rows.Close()
	out := []RouteStat{}
	for rows.Next() {
		var s RouteStat
		if err := rows.Scan(&s.Method, &s.Route, &s.Count, &s.ServerErrors, &s.DurationMSSum); err != nil {
			return nil, wrap("top routes", err)
		}
		out = append(out, s)
	}
	return out, wrap("top routes", rows.Err())
}

// rebuildPage is how many raw events a rebuild reads per query.
const rebuildPage = 5000

// RebuildEventRollups recomputes the tenant's rollups from its raw events,
// with the very code the event writer uses, for events loaded in bulk
// outside InsertEvents or rollups written by an older version. Hours before
// the oldest stored event (pruned by retention) keep their rollups. Event
// writers wait while it runs, so no batch is counted twice or lost.
func (db *DB) RebuildEventRollups(ctx context.Context) error {
	rid, err := tenant(ctx)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.dialect.lockRollups(ctx, tx); err != nil {
			return err
		}
		// Pages follow the primary key, not created_at: rows loaded in bulk
		// may store their times in another text form on SQLite, which
		// would make a (created_at, id) cursor skip or repeat rows.
		b := newRollupBatch()
		var oldest time.Time
		lastID := ""
		for {
			q, args := `SELECT id, event_type, event_data, created_at FROM tenant_events
				WHERE restaurant_id = $1 ORDER BY id LIMIT $2`, []any{rid, rebuildPage}
			if lastID != "" {
				q, args = `SELECT id, event_type, event_data, created_at FROM tenant_events
				WHERE restaurant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{rid, lastID, rebuildPage}
			}
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				e := TenantEvent{RestaurantID: rid}
				var data string
				if err := rows.Scan(&e.ID, &e.Type, &data, &e.CreatedAt); err != nil {
					rows.Close()
					return err
				}
				e.Data, e.CreatedAt = json.RawMessage(data), e.CreatedAt.UTC()
				if oldest.IsZero() || e.CreatedAt.Before(oldest) {
					oldest = e.CreatedAt
				}
				b.add(e)
				lastID = e.ID
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if n < rebuildPage {
				break
			}
		}
		if oldest.IsZero() {
			return nil
		}
		from := oldest.Truncate(time.Hour)
		for _, table := range []string{"tenant_event_rollups", "tenant_route_rollups"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE restaurant_id = $1 AND bucket >= $2`, rid, from); err != nil {
				return err
			}
		}
		return writeRollups(ctx, db.dialect, tx, b)
	})
	return wrap("rebuild rollups", err)
}
