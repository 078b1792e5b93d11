package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// fillEvents gives a tenant n events written in the database itself, so
// that restoring it takes a moment.
func fillEvents(t *testing.T, db *store.DB, rid string, n int) {
	t.Helper()
	ctx := context.Background()
	var err error
	if db.Engine == store.Postgres {
		_, err = db.SQL().ExecContext(ctx, `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
			SELECT $1, lpad(to_hex(i), 32, '0')::uuid, 'api_request',
				jsonb_build_object('path', '/api/v1/orders', 'method', 'GET', 'status', 200, 'n', i), now()
			FROM generate_series(1, $2::bigint) AS i`, rid, n)
	} else {
		_, err = db.SQL().ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?2)
			INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
			SELECT ?1, printf('00000000-0000-7000-8000-%012x', i), 'api_request',
				json_object('path', '/api/v1/orders', 'method', 'GET', 'status', 200, 'n', i),
				strftime('%Y-%m-%d %H:%M:%S+00:00', 'now')
			FROM s`, rid, n)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// send is do without t.Fatal, for requests sent from another goroutine.
func (e *env) send(method, path, token string, body any, headers ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b, Header: resp.Header}, err
}

// blockedBy lists, on PostgreSQL, the backends of this test's database that
// wait on a lock held by backend pid. Following the blocking chain, rather
// than counting locks on a table, tells the restore apart from any other
// transaction that happens to hold or wait for a lock there at the time (an
// event batch's foreign-key check, say).
func blockedBy(t *testing.T, db *store.DB, pid int) []int {
	t.Helper()
	return backends(t, db, `$1::int = ANY(pg_blocking_pids(pid))`, pid)
}

// waitingToLockRestaurant lists, on PostgreSQL, the backends of this test's
// database waiting to lock a restaurant row: on the holder, or queued behind
// another waiter.
func waitingToLockRestaurant(t *testing.T, db *store.DB) []int {
	t.Helper()
	return backends(t, db, `wait_event_type = 'Lock' AND query LIKE '%FROM restaurants WHERE id = $1 FOR UPDATE'`)
}

func backends(t *testing.T, db *store.DB, where string, args ...any) []int {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND `+where, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// waitUntil polls cond every few milliseconds for up to limit.
func waitUntil(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(3 * time.Millisecond)
	}
	return false
}

// TestBackupRestoreKeepsChangesSentDuringIt: a suspension and a user's
// token revocation sent while a restore of the tenant runs wait for the
// restore's lock on the restaurant row, then apply to the restored tenant:
// the suspension is in force afterwards and the restaurant's admin cannot
// log in, every time. On PostgreSQL the test sees each change queue on the
// restore's row lock, so the interleaving is the real one, not luck.
func TestBackupRestoreKeepsChangesSentDuringIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startJobs()
	ctx := context.Background()
	pg := e.db.Engine == store.Postgres
	// On PostgreSQL the restore is held, by a lock on rows it deletes,
	// until the changes are seen waiting on it: it need not be long.
	tries, events := 20, 500
	if !pg {
		tries, events = 3, storetest.Scaled(8000) // SQLite serialises writers; the test shows the outcome only
	}
	fillEvents(t, e.db, e.A.R.ID, events)
	b, err := envBackups[e].Export(ctx, e.A.R.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	op := e.token(e.super)
	admin := e.A.Users[tenancy.Admin]
	staff := e.A.Users[tenancy.Staff]
	statusPath := "/admin/restaurants/" + e.A.R.ID + "/status"
	revokePath := "/api/v1/users/" + staff.ID + "/revoke_tokens"
	waited := 0
	for try := 1; try <= tries; try++ {
		if r := e.do("POST", statusPath, op, map[string]any{"status": "active"}); r.Status != http.StatusOK {
			t.Fatalf("try %d: reactivate: %d %s", try, r.Status, r.Body)
		}
		if r := e.do("POST", "/login", "", map[string]any{"email": admin.Email, "password": testPassword}); r.Status != http.StatusOK {
			t.Fatalf("try %d: the admin of an active restaurant cannot log in: %d %s", try, r.Status, r.Body)
		}
		// The restore locks the restaurant row, then deletes the tenant's
		// rows: it waits on the gate's lock on some of them, holding the
		// restaurant row, until the changes queue behind it.
		release := func() {}
		gatePID := 0
		if pg {
			// A connection of its own: the pool's few are taken by the
			// restore and the changes waiting on it.
			gate, err := pgx.ConnectConfig(ctx, e.db.Pool().Config().ConnConfig.Copy())
			if err != nil {
				t.Fatal(err)
			}
			release = func() { gate.Close(ctx) } //nolint:errcheck // ends its transaction
			defer release()
			if _, err := gate.Exec(ctx, `BEGIN; SELECT 1 FROM tenant_events WHERE restaurant_id = '`+e.A.R.ID+`' FOR UPDATE`); err != nil {
				t.Fatal(err)
			}
			gatePID = int(gate.PgConn().PID())
		}
		res := e.do("POST", "/admin/tenant_backup/import_tenant", op, map[string]any{"backup_id": b.ID, "target_restaurant_id": e.A.R.ID})
		if res.Status != http.StatusAccepted {
			t.Fatalf("try %d: restore: %d %s", try, res.Status, res.Body)
		}
		jobID := res.json(t)["job_id"].(string)

		// Fire the changes once the restore's transaction holds the tenant:
		// on PostgreSQL, once it waits on the gate, having locked the
		// restaurant row before it deletes anything.
		held := waitUntil(30*time.Second, func() bool {
			if pg {
				return len(blockedBy(t, e.db, gatePID)) == 1
			}
			// The import holds SQLite's write lock, so its progress may not
			// be written until it ends: a running job is the sign to go.
			j, err := e.db.Job(ctx, jobID)
			return err == nil && (j.Status == "running" || j.Status == "complete")
		})
		if !held {
			t.Fatalf("try %d: the restore never started importing", try)
		}
		sent := e.db.Now()
		staffToken := e.token(staff)
		type answer struct {
			res response
			err error
		}
		suspended, revoked := make(chan answer, 1), make(chan answer, 1)
		go func() {
			r, err := e.send("POST", statusPath, op, map[string]any{"status": "suspended"})
			suspended <- answer{r, err}
		}()
		go func() {
			r, err := e.send("POST", revokePath, op, nil, "X-Restaurant-ID", e.A.R.ID)
			revoked <- answer{r, err}
		}()
		// Both changes queue on the restore's lock of the restaurant row
		// (the restore, blocked by the gate, holds it).
		if pg && waitUntil(30*time.Second, func() bool { return len(waitingToLockRestaurant(t, e.db)) == 2 }) {
			waited++
		}
		release()
		for name, ch := range map[string]chan answer{"suspension": suspended, "revocation": revoked} {
			a := <-ch
			if a.err != nil || a.res.Status != http.StatusOK {
				t.Fatalf("try %d: %s during the restore: %v %d %s", try, name, a.err, a.res.Status, a.res.Body)
			}
		}
		if j := e.waitJob(op, jobID); j["status"] != "complete" {
			t.Fatalf("try %d: restore job: %v", try, j)
		}

		r, err := e.db.Restaurant(ctx, e.A.R.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tenancy.Suspended {
			t.Fatalf("try %d: after the restore the restaurant is %s: the suspension was lost", try, r.Status)
		}
		if r := e.do("POST", "/login", "", map[string]any{"email": admin.Email, "password": testPassword}); r.Status != http.StatusForbidden {
			t.Fatalf("try %d: the admin of the suspended restaurant logs in: %d %s", try, r.Status, r.Body)
		}
		if r := e.do("GET", "/api/v1/me", staffToken, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("try %d: a token revoked during the restore works after it: %d", try, r.Status)
		}
		if !pg {
			continue
		}
		// Having waited for the restore, the revocation was written on the
		// restored user (on SQLite it may also have gone first, and the
		// restore's own cut-off then covers it).
		var after nullTimestamp
		if err := e.db.SQL().QueryRowContext(ctx, `SELECT tokens_valid_after FROM users WHERE restaurant_id = $1 AND id = $2`,
			e.A.R.ID, staff.ID).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if !after.Valid || after.Time.Before(sent.Add(-time.Second)) {
			t.Fatalf("try %d: the user's token revocation was lost (tokens_valid_after %v, sent at %v)", try, after, sent)
		}
	}
	if pg && waited != tries {
		t.Errorf("the changes queued on the restore's lock in %d of %d tries; the rest did not test the race", waited, tries)
	}
	t.Logf("%s: %d of %d tries: changes sent during the restore were in force after it (%d seen waiting on its lock)", e.db.Engine, tries, tries, waited)
}

// nullTimestamp reads a timestamp column as either engine returns it.
type nullTimestamp struct {
	Time  time.Time
	Valid bool
}

func (n *nullTimestamp) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.Valid = false
	case time.Time:
		n.Time, n.Valid = x, true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, x); err == nil {
				n.Time, n.Valid = t, true
				return nil
			}
		}
		return fmt.Errorf("not a timestamp: %q", x)
	default:
		return fmt.Errorf("unexpected %T for a timestamp", v)
	}
	return nil
}

// TestBackupSecondRestoreIsRefused: while a restore of a restaurant is
// queued or running, another restore of it — by backup id or restore_latest,
// however many arrive at once — answers 409 with the first job's id; other
// restaurants and imports into new restaurants are not held up, and once
// the first restore ends the next one is accepted.
func TestBackupSecondRestoreIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b, err := envBackups[e].Export(ctx, e.A.R.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	op := e.token(e.super)
	restoreA := map[string]any{"backup_id": b.ID, "target_restaurant_id": e.A.R.ID}

	// Workers are not started yet: the first restore stays queued. Eight
	// restores race for the restaurant; exactly one is accepted.
	const racers = 8
	answers := make(chan response, racers)
	for i := 0; i < racers; i++ {
		go func(i int) {
			var r response
			var err error
			if i%2 == 0 {
				r, err = e.send("POST", "/admin/tenant_backup/import_tenant", op, restoreA)
			} else {
				r, err = e.send("POST", "/admin/tenant_backup/restore_latest/"+e.A.R.ID, op, nil)
			}
			if err != nil {
				r = response{Status: -1, Body: []byte(err.Error())}
			}
			answers <- r
		}(i)
	}
	var first string
	var refused []map[string]any
	for i := 0; i < racers; i++ {
		r := <-answers
		switch r.Status {
		case http.StatusAccepted:
			if first != "" {
				t.Fatalf("two restores of one restaurant accepted: %s and %s", first, r.Body)
			}
			first = r.json(t)["job_id"].(string)
		case http.StatusConflict:
			refused = append(refused, r.json(t))
		default:
			t.Fatalf("a racing restore answered %d %s", r.Status, r.Body)
		}
	}
	if first == "" {
		t.Fatal("no restore was accepted")
	}
	for _, m := range refused {
		if m["job_id"] != first || m["error"].(map[string]any)["code"] != "conflict" || !strings.Contains(m["error"].(map[string]any)["message"].(string), first) {
			t.Errorf("refusal does not name the running job %s: %v", first, m)
		}
	}

	// Not held up: another restaurant, and an import into a new one.
	bB, err := envBackups[e].Export(ctx, e.B.R.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/admin/tenant_backup/import_tenant", op, map[string]any{"backup_id": bB.ID, "target_restaurant_id": e.B.R.ID}); r.Status != http.StatusAccepted {
		t.Errorf("restore of another restaurant: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/admin/tenant_backup/import_tenant", op, map[string]any{"backup_id": b.ID, "new_restaurant_name": "Alpha Again"}); r.Status != http.StatusAccepted {
		t.Errorf("import into a new restaurant: %d %s", r.Status, r.Body)
	}

	e.startJobs()
	if j := e.waitJob(op, first); j["status"] != "complete" {
		t.Fatalf("first restore: %v", j)
	}
	res := e.do("POST", "/admin/tenant_backup/restore_latest/"+e.A.R.ID, op, nil)
	if res.Status != http.StatusAccepted {
		t.Fatalf("a restore after the first ended: %d %s", res.Status, res.Body)
	}
	if j := e.waitJob(op, res.json(t)["job_id"].(string)); j["status"] != "complete" {
		t.Fatalf("second restore: %v", j)
	}
}
