package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// TestSeededCopyEqualsAFreshSeed: a copy of the seeded template holds what
// seeding a fresh database on the same clock writes, every copied table row
// for row, ids aside (made new on each run, but in the same order).
func TestSeededCopyEqualsAFreshSeed(t *testing.T) {
	t.Parallel()
	const days = 1 // every table the demo fills, at the fewest writes
	ctx := context.Background()
	copied, creds := OpenDemo(t, days)
	fresh := OpenWithClock(t, func() time.Time { return seedHour() })
	freshCreds, err := demo.SeedHistory(ctx, fresh, days)
	if err != nil {
		t.Fatal(err)
	}
	a, b := tenantDump(t, copied, creds.RestaurantID), tenantDump(t, fresh, freshCreds.RestaurantID)
	for _, table := range store.CopyTables() {
		if !slices.Equal(a[table], b[table]) {
			t.Errorf("%s: %d rows in the copy, %d seeded fresh\ncopy:  %.300s\nfresh: %.300s", table, len(a[table]), len(b[table]),
				strings.Join(a[table], "\n"), strings.Join(b[table], "\n"))
		}
	}
	if len(a["orders"]) == 0 || len(a["menu_items"]) == 0 {
		t.Errorf("the seeded copy has %d orders and %d menu items", len(a["orders"]), len(a["menu_items"]))
	}
	// The credentials work on the copy: the seed's re-run set them there.
	users, err := copied.UsersByEmail(ctx, demo.AdminEmail)
	if err != nil || len(users) != 1 || users[0].RestaurantID != creds.RestaurantID {
		t.Fatalf("the demo admin in the copy: %v %v", users, err)
	}
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// tenantDump is the restaurant's rows of every copied table as JSON, each
// id replaced by its rank among the dump's ids (ids are time-ordered, so
// the same writes in the same order rank alike), without what the seed's
// re-run on the copy changes (the users' passwords, and when: it
// also ends the sessions of the old ones).
func tenantDump(t *testing.T, db *store.DB, rid string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	raw := map[string][]string{}
	ids := map[string]bool{}
	for _, table := range store.CopyTables() {
		rows, err := db.TenantRows(ctx, table, rid)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if table == "users" {
				delete(r, "password_hash")
				delete(r, "updated_at")
				delete(r, "tokens_valid_after")
			}
			j, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range uuidPattern.FindAllString(string(j), -1) {
				ids[id] = true
			}
			raw[table] = append(raw[table], string(j))
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	rank := map[string]string{}
	for i, id := range sorted {
		rank[id] = fmt.Sprintf("#%d", i)
	}
	out := map[string][]string{}
	for table, rows := range raw {
		for _, r := range rows {
			out[table] = append(out[table], uuidPattern.ReplaceAllStringFunc(r, func(id string) string { return rank[id] }))
		}
		slices.Sort(out[table])
	}
	return out
}

// TestSeededTemplateIsBuiltOnce: two test processes that want the same
// seeded template at the same time build it once, and both get a copy.
func TestSeededTemplateIsBuiltOnce(t *testing.T) {
	if URL() == "" {
		t.Skip("a template database is PostgreSQL's")
	}
	if os.Getenv("STORETEST_BUILD_ONCE") != "" {
		return // the helper's own run, below
	}
	t.Parallel()
	salt := fmt.Sprintf(" build once %d %d", os.Getpid(), time.Now().UnixNano())
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSeededTemplateBuildHelper$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BUILD_ONCE="+salt)
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}
	built, names := 0, map[string]bool{}
	var outs []byte
	for range 2 {
		r := <-results
		outs = append(outs, r.out...)
		if r.err != nil {
			t.Fatalf("helper process: %v\n%s", r.err, r.out)
		}
		m := regexp.MustCompile(`template (\S+) built (true|false) copy (\S+)`).FindSubmatch(r.out)
		if m == nil {
			t.Fatalf("helper process said:\n%s", r.out)
		}
		names[string(m[1])] = true
		if string(m[2]) == "true" {
			built++
		}
		if bytes.Equal(m[1], m[3]) {
			t.Errorf("a helper was given the template itself")
		}
	}
	t.Cleanup(func() { dropTemplate(t, names) })
	if built != 1 || len(names) != 1 {
		t.Errorf("the template was built %d times, named %v", built, names)
		t.Logf("%s", outs)
	}
}

// TestSeededTemplateBuildHelper is one process of the test above.
func TestSeededTemplateBuildHelper(t *testing.T) {
	salt := os.Getenv("STORETEST_BUILD_ONCE")
	if salt == "" || URL() == "" {
		t.Skip("run by TestSeededTemplateIsBuiltOnce")
	}
	templateSalt = salt
	url, db := OpenDemoWithURL(t, 1)
	var orders int
	if err := db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM orders").Scan(&orders); err != nil || orders == 0 {
		t.Fatalf("%d orders in the copy: %v", orders, err)
	}
	tm := demoTemplate(1)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("template %s built %v copy %s\n", tm.name, tm.built, strings.TrimPrefix(u.Path, "/"))
}

// dropTemplate drops the templates named and every copy of them.
func dropTemplate(t *testing.T, names map[string]bool) {
	admin, err := adminDB(URL())
	if err != nil {
		t.Log(err)
		return
	}
	for name := range names {
		digest := strings.TrimPrefix(name, templatePrefix)
		rows, err := admin.Query("SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)", name, baseName(URL())+"_"+digest+"_")
		if err != nil {
			t.Log(err)
			return
		}
		var dbs []string
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				dbs = append(dbs, n)
			}
		}
		rows.Close()
		for _, n := range dbs {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + quote(n) + " WITH (FORCE)"); err != nil {
				t.Logf("drop %s: %v", n, err)
			}
		}
	}
}
