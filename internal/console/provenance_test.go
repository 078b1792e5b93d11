package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestBackupPageMarksReceived: the operator tells an uploaded archive from
// the restaurant's own backups on the backups page.
func TestBackupPageMarksReceived(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	own, err := e.backups.Export(ctx, e.A.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := backup.WriteArchive(ctx, e.db, e.A.ID, &buf, backup.ExportOptions{AppVersion: "test", Now: e.db.Now()}); err != nil {
		t.Fatal(err)
	}
	opCtx := tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: store.NewID(), Role: tenancy.SuperAdmin})
	received, _, err := e.backups.Receive(opCtx, &buf)
	if err != nil || received.ID == "" {
		t.Fatal(received, err)
	}
	b := e.browser()
	b.login("root@platform.test")
	p := b.get(tenantPath(e.A.ID, "/backups"))
	row := func(id string) string {
		i := strings.Index(p.Body, `data-backup="`+id+`"`)
		if i < 0 {
			t.Fatalf("%s not listed", id)
		}
		end := strings.Index(p.Body[i:], "</th>")
		return p.Body[i : i+end]
	}
	if !strings.Contains(row(received.ID), ">received</span>") || strings.Contains(row(own.ID), ">received</span>") {
		t.Errorf("received badge: own %q, received %q", row(own.ID), row(received.ID))
	}
}
