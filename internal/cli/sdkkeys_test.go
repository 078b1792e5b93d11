package cli_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestSDKKeyCommands: `flags sdk-key create|list|revoke`; a running
// server's auth state (another handle on the database, as a serve process
// has) refuses the key within a second of the revocation.
func TestSDKKeyCommands(t *testing.T) {
	parallel(t)
	url, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	running := &auth.Service{DB: db, Secret: []byte("x"), CheckInterval: 100 * time.Millisecond}
	running.Start(ctx)
	defer running.Close()
	<-running.Ready()

	out, stderr, code := runWithDB(t, url, "flags", "sdk-key", "create", "storefront", "--restaurant", r.ID)
	if code != 0 {
		t.Fatalf("create: %d %s %s", code, out, stderr)
	}
	key := regexp.MustCompile(`ossdk_[A-Za-z0-9_-]+`).FindString(out)
	id := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)
	if key == "" || id == nil {
		t.Fatalf("create printed no key: %s", out)
	}
	p, err := running.Authenticate(ctx, key)
	if err != nil || p.RestaurantID != r.ID || !auth.IsSDKKey(p) {
		t.Fatalf("the new key: %+v %v", p, err)
	}
	out, _, code = runWithDB(t, url, "flags", "sdk-key", "list", "--restaurant", r.ID)
	if code != 0 || !strings.Contains(out, "storefront") || strings.Contains(out, key) {
		t.Errorf("list: %d %s", code, out)
	}
	if _, stderr, code := runWithDB(t, url, "flags", "sdk-key", "list"); code == 0 || !strings.Contains(stderr, "--restaurant") {
		t.Errorf("list without a restaurant: %d %s", code, stderr)
	}
	if _, _, code := runWithDB(t, url, "flags", "sdk-key", "create", " ", "--restaurant", r.ID); code == 0 {
		t.Error("a blank name was accepted")
	}
	start := time.Now()
	if out, stderr, code := runWithDB(t, url, "flags", "sdk-key", "revoke", id[1], "--restaurant", r.ID); code != 0 {
		t.Fatalf("revoke: %d %s %s", code, out, stderr)
	}
	for {
		if _, err := running.Authenticate(ctx, key); err != nil {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("the running server still accepts the key a second after its revocation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("refused %v after the command", time.Since(start))
	if _, _, code := runWithDB(t, url, "flags", "sdk-key", "revoke", id[1], "--restaurant", r.ID); code == 0 {
		t.Error("revoking twice succeeded")
	}
}
