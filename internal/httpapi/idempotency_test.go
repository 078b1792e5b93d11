package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// sendKeyed posts body with an Idempotency-Key from any goroutine (env.do
// fails the test from the calling goroutine only).
func (e *env) sendKeyed(client *http.Client, path, token, key string, body any) (response, error) {
	enc, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(enc))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(httpapi.IdempotencyHeader, key)
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Body: b, Header: res.Header}, err
}

// sendAll sends n copies of one request at once and returns the answers.
func (e *env) sendAll(t *testing.T, n int, path, token, key string, body any) []response {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 60 * time.Second}
	out := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = e.sendKeyed(client, path, token, key, body)
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// count counts a tenant's rows of table.
func (e *env) count(t *testing.T, table string, tn tenant) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE restaurant_id = $1`, tn.R.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// allEqual fails unless every answer has want's status and the first's
// body.
func allEqual(t *testing.T, answers []response, want int) {
	t.Helper()
	for i, a := range answers {
		if a.Status != want || !bytes.Equal(a.Body, answers[0].Body) {
			t.Fatalf("answer %d: %d %s\nwant %d %s", i, a.Status, a.Body, want, answers[0].Body)
		}
	}
}

func TestIdempotentOrderCreation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := e.tokenFor(tenancy.Staff, e.A)
	mi := e.menuItem(e.A, 1450)
	body := map[string]any{"order_type": "takeout", "items": []any{map[string]any{"menu_item_id": mi.ID, "quantity": 2}}}

	t.Run("100 concurrent duplicates make one order and get one answer", func(t *testing.T) {
		before := e.count(t, "orders", e.A)
		answers := e.sendAll(t, 100, "/api/v1/orders", staff, "order-1", body)
		allEqual(t, answers, http.StatusCreated)
		if n := e.count(t, "orders", e.A) - before; n != 1 {
			t.Fatalf("%d orders made, want 1", n)
		}
		var got struct {
			Order struct{ ID, Number string }
		}
		if err := json.Unmarshal(answers[0].Body, &got); err != nil || got.Order.ID == "" {
			t.Fatalf("answer %s: %v", answers[0].Body, err)
		}
		var number string
		if err := e.db.SQL().QueryRow(`SELECT number FROM orders WHERE restaurant_id = $1 AND id = $2`, e.A.R.ID, got.Order.ID).Scan(&number); err != nil {
			t.Fatal(err)
		}
		if number != got.Order.Number {
			t.Fatalf("answer says number %s, the order has %s", got.Order.Number, number)
		}
		// A later retry is answered the same, marked as a replay.
		again := e.do("POST", "/api/v1/orders", staff, body, httpapi.IdempotencyHeader, "order-1")
		if again.Status != http.StatusCreated || !bytes.Equal(again.Body, answers[0].Body) || again.Header.Get(httpapi.ReplayedHeader) != "true" {
			t.Fatalf("retry: %d %q %s", again.Status, again.Header.Get(httpapi.ReplayedHeader), again.Body)
		}
		if n := e.count(t, "orders", e.A) - before; n != 1 {
			t.Fatalf("%d orders after the retry, want 1", n)
		}
	})

	t.Run("numbers stay gap-free after duplicates", func(t *testing.T) {
		// The 99 duplicates above each took the counter and rolled back.
		seq := func(r response) int {
			n := decode[map[string]map[string]any](t, r)["order"]["number"].(string)
			var v int
			fmt.Sscanf(n[strings.LastIndexByte(n, '-')+7:], "%d", &v)
			return v
		}
		first := e.do("POST", "/api/v1/orders", staff, body, httpapi.IdempotencyHeader, "order-1")
		a := e.do("POST", "/api/v1/orders", staff, body)
		b := e.do("POST", "/api/v1/orders", staff, body, httpapi.IdempotencyHeader, "order-2")
		if seq(a) != seq(first)+1 || seq(b) != seq(a)+1 {
			t.Fatalf("numbers %d, %d, %d: not consecutive", seq(first), seq(a), seq(b))
		}
	})

	t.Run("same key, different body", func(t *testing.T) {
		other := map[string]any{"order_type": "takeout", "items": []any{map[string]any{"menu_item_id": mi.ID, "quantity": 3}}}
		before := e.count(t, "orders", e.A)
		res := e.do("POST", "/api/v1/orders", staff, other, httpapi.IdempotencyHeader, "order-1")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), `"field":"Idempotency-Key"`) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if e.count(t, "orders", e.A) != before {
			t.Fatal("an order was made")
		}
	})

	t.Run("keys belong to their restaurant and caller", func(t *testing.T) {
		// The same key and body in restaurant B, or from another caller in
		// A, is a request of its own.
		miB := e.menuItem(e.B, 900)
		bodyB := map[string]any{"order_type": "takeout", "items": []any{map[string]any{"menu_item_id": miB.ID, "quantity": 2}}}
		beforeB := e.count(t, "orders", e.B)
		res := e.do("POST", "/api/v1/orders", e.tokenFor(tenancy.Staff, e.B), bodyB, httpapi.IdempotencyHeader, "order-1")
		if res.Status != http.StatusCreated || res.Header.Get(httpapi.ReplayedHeader) != "" || e.count(t, "orders", e.B) != beforeB+1 {
			t.Fatalf("restaurant B: %d %s", res.Status, res.Body)
		}
		before := e.count(t, "orders", e.A)
		res = e.do("POST", "/api/v1/orders", e.admin(e.A), body, httpapi.IdempotencyHeader, "order-1")
		if res.Status != http.StatusCreated || res.Header.Get(httpapi.ReplayedHeader) != "" || e.count(t, "orders", e.A) != before+1 {
			t.Fatalf("another caller: %d %s", res.Status, res.Body)
		}
		// The admin's orders take the audited path: its duplicates hold too.
		answers := e.sendAll(t, 20, "/api/v1/orders", e.admin(e.A), "order-admin", body)
		allEqual(t, answers, http.StatusCreated)
		if n := e.count(t, "orders", e.A) - before; n != 2 {
			t.Fatalf("%d orders, want 2", n)
		}
	})

	t.Run("bad keys", func(t *testing.T) {
		before := e.count(t, "orders", e.A)
		for name, key := range map[string]string{
			"empty":     "",
			"too long":  strings.Repeat("k", 256),
			"non-ASCII": "clé-1",
			"control":   "a\tb",
		} {
			res := e.do("POST", "/api/v1/orders", staff, body, httpapi.IdempotencyHeader, key)
			if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"Idempotency-Key"`) {
				t.Errorf("%s: %d %s", name, res.Status, res.Body)
			}
		}
		if e.count(t, "orders", e.A) != before {
			t.Fatal("an order was made")
		}
		res := e.do("POST", "/api/v1/orders", staff, body, httpapi.IdempotencyHeader, strings.Repeat("k", 255))
		if res.Status != http.StatusCreated {
			t.Fatalf("a 255-character key: %d %s", res.Status, res.Body)
		}
	})

	t.Run("errors are not kept", func(t *testing.T) {
		bad := map[string]any{"order_type": "takeout", "items": []any{map[string]any{"menu_item_id": "00000000-0000-7000-8000-000000000000", "quantity": 1}}}
		for range 2 {
			if res := e.do("POST", "/api/v1/orders", staff, bad, httpapi.IdempotencyHeader, "order-bad"); res.Status != http.StatusNotFound {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
		}
	})
}

func TestIdempotentPaymentsRefundsReservations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin(e.A)
	method := e.paymentMethod(e.A)

	t.Run("payments", func(t *testing.T) {
		o := e.order(e.A, "")
		body := map[string]any{"order_id": o.ID, "payment_method_id": method.ID, "amount_cents": o.TotalAmountCents}
		before := e.count(t, "payments", e.A)
		answers := e.sendAll(t, 20, "/api/v1/payments", admin, "pay-1", body)
		allEqual(t, answers, http.StatusCreated)
		if n := e.count(t, "payments", e.A) - before; n != 1 {
			t.Fatalf("%d payments, want 1", n)
		}
		body["amount_cents"] = 1
		res := e.do("POST", "/api/v1/payments", admin, body, httpapi.IdempotencyHeader, "pay-1")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), `"field":"Idempotency-Key"`) {
			t.Fatalf("different body: %d %s", res.Status, res.Body)
		}
	})

	t.Run("refunds", func(t *testing.T) {
		p := e.payment(e.A)
		path := "/api/v1/payments/" + p.ID + "/refund"
		body := map[string]any{"amount_cents": 100}
		answers := e.sendAll(t, 20, path, admin, "refund-1", body)
		allEqual(t, answers, http.StatusOK)
		var refunded int64
		if err := e.db.SQL().QueryRow(`SELECT refunded_cents FROM payments WHERE restaurant_id = $1 AND id = $2`, e.A.R.ID, p.ID).Scan(&refunded); err != nil {
			t.Fatal(err)
		}
		if refunded != 100 {
			t.Fatalf("refunded %d cents, want 100", refunded)
		}
		res := e.do("POST", path, admin, map[string]any{"amount_cents": 200}, httpapi.IdempotencyHeader, "refund-1")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), `"field":"Idempotency-Key"`) {
			t.Fatalf("different body: %d %s", res.Status, res.Body)
		}
		// The same body for another payment is a different request too.
		other := e.payment(e.A)
		res = e.do("POST", "/api/v1/payments/"+other.ID+"/refund", admin, body, httpapi.IdempotencyHeader, "refund-1")
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("another payment: %d %s", res.Status, res.Body)
		}
	})

	t.Run("reservations", func(t *testing.T) {
		table := e.table(e.A, 4)
		start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)
		body := map[string]any{"table_id": table.ID, "name": "Sato", "party_size": 2,
			"starts_at": start, "ends_at": start.Add(2 * time.Hour)}
		before := e.count(t, "reservations", e.A)
		answers := e.sendAll(t, 20, "/api/v1/reservations", e.tokenFor(tenancy.Staff, e.A), "book-1", body)
		allEqual(t, answers, http.StatusCreated)
		if n := e.count(t, "reservations", e.A) - before; n != 1 {
			t.Fatalf("%d reservations, want 1", n)
		}
		body["party_size"] = 3
		res := e.do("POST", "/api/v1/reservations", e.tokenFor(tenancy.Staff, e.A), body, httpapi.IdempotencyHeader, "book-1")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), `"field":"Idempotency-Key"`) {
			t.Fatalf("different body: %d %s", res.Status, res.Body)
		}
	})
}

// TestIdempotentRetryAfterCut cuts the client's connection while the server
// is still writing the order (it waits on the restaurant's counter, held by
// the test), then retries: one order, and the retry answers with it.
func TestIdempotentRetryAfterCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := e.tokenFor(tenancy.Staff, e.A)
	e.order(e.A, "") // today's counter row exists
	mi := e.menuItem(e.A, 800)
	body := map[string]any{"order_type": "takeout", "items": []any{map[string]any{"menu_item_id": mi.ID, "quantity": 1}}}
	before := e.count(t, "orders", e.A)

	ctx := context.Background()
	hold, err := e.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback() //nolint:errcheck // released below
	if _, err := hold.ExecContext(ctx, `UPDATE number_counters SET value = value WHERE restaurant_id = $1`, e.A.R.ID); err != nil {
		t.Fatal(err)
	}
	impatient := &http.Client{Timeout: 300 * time.Millisecond}
	if res, err := e.sendKeyed(impatient, "/api/v1/orders", staff, "cut-1", body); err == nil {
		t.Fatalf("the first attempt was answered (%d %s) while the counter was held", res.Status, res.Body)
	}
	if n := e.count(t, "orders", e.A); n != before {
		t.Fatalf("%d orders while the counter was held", n-before)
	}
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	// The first attempt's write goes on without its client and commits.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && e.count(t, "orders", e.A) == before {
		time.Sleep(20 * time.Millisecond)
	}
	retry, err := e.sendKeyed(&http.Client{Timeout: 30 * time.Second}, "/api/v1/orders", staff, "cut-1", body)
	if err != nil {
		t.Fatal(err)
	}
	// The first attempt's write went on without its client: the retry is
	// answered with what it kept.
	if retry.Status != http.StatusCreated || retry.Header.Get(httpapi.ReplayedHeader) != "true" {
		t.Fatalf("retry: %d %q %s", retry.Status, retry.Header.Get(httpapi.ReplayedHeader), retry.Body)
	}
	// The restaurant has exactly one new order, the one the retry named.
	var got struct{ Order struct{ ID string } }
	if err := json.Unmarshal(retry.Body, &got); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := e.db.SQL().Query(`SELECT id FROM orders WHERE restaurant_id = $1`, e.A.R.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != before+1 {
		t.Fatalf("%d orders made, want 1", len(ids)-before)
	}
	found := false
	for _, id := range ids {
		found = found || id == got.Order.ID
	}
	if !found {
		t.Fatalf("the retry named order %s, which does not exist", got.Order.ID)
	}
	// Asked again, the key gives the same answer.
	again, err := e.sendKeyed(&http.Client{Timeout: 30 * time.Second}, "/api/v1/orders", staff, "cut-1", body)
	if err != nil || again.Status != http.StatusCreated || !bytes.Equal(again.Body, retry.Body) {
		t.Fatalf("second retry: %v %d %s", err, again.Status, again.Body)
	}
}

// TestOpenAPIDescribesIdempotencyKey: exactly the four writes that take the
// header say so, each with its 422.
func TestOpenAPIDescribesIdempotencyKey(t *testing.T) {
	t.Parallel()
	doc := httpapi.OpenAPI("test")
	enc, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
			Responses  map[string]any
		}
	}
	if err := json.Unmarshal(enc, &spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"post /api/v1/orders": true, "post /api/v1/payments": true,
		"post /api/v1/payments/{id}/refund": true, "post /api/v1/reservations": true}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			has := false
			for _, p := range op.Parameters {
				has = has || (p.Name == httpapi.IdempotencyHeader && p.In == "header")
			}
			// Other routes may answer 422 for reasons of their own (an
			// invalid archive); only the header is theirs alone.
			_, has422 := op.Responses["422"]
			if name := method + " " + path; has != want[name] || (want[name] && !has422) {
				t.Errorf("%s: header described %v, 422 described %v; want %v", name, has, has422, want[name])
			}
		}
	}
}
