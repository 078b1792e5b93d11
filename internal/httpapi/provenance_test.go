package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/backup/archivetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestUploadIsStoredAsReceived: an upload dated years ahead is refused
// with a 422 naming exported_at and leaves nothing stored; one dated now is
// stored as a received archive, listed with its origin beside the
// restaurant's own backup, and never counted as that restaurant's backup.
func TestUploadIsStoredAsReceived(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := e.tokenFor(tenancy.SuperAdmin, e.A)
	ctx := context.Background()
	svc := envBackups[e]
	own, err := svc.Export(ctx, e.A.R.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := backup.WriteArchive(ctx, e.db, e.A.R.ID, &buf, backup.ExportOptions{AppVersion: "test", Now: e.db.Now()}); err != nil {
		t.Fatal(err)
	}

	future := archivetest.Redate(t, buf.Bytes(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	res := e.do("POST", "/admin/tenant_backup/import_tenant", op, future, "Content-Type", "application/zip")
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(string(res.Body), "exported_at 2030-01-01T00:00:00Z is in the future") {
		t.Fatalf("a 2030 upload: %d %s", res.Status, res.Body)
	}
	if list, _ := svc.List(ctx, ""); len(list) != 1 {
		t.Errorf("the refused upload was stored: %v", list)
	}

	res = e.do("POST", "/admin/tenant_backup/import_tenant", op, buf.Bytes(), "Content-Type", "application/zip")
	if res.Status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	id := res.json(t)["backup_id"].(string)
	if !strings.HasPrefix(id, "tenant_received_"+e.A.R.ID+"_") {
		t.Errorf("the upload is stored as %s", id)
	}

	res = e.do("GET", "/admin/tenant_backup/backups?restaurant_id="+e.A.R.ID, op, nil)
	var body struct {
		Backups []backup.Backup `json:"backups"`
		Failed  []any           `json:"failed_destinations"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || res.Status != http.StatusOK {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}
	origins := map[string]string{}
	for _, b := range body.Backups {
		if b.Provenance == nil {
			t.Errorf("%s listed without provenance", b.ID)
			continue
		}
		origins[b.ID] = string(b.Origin) + "/" + string(b.Provenance.Reason)
	}
	if origins[own.ID] != "backup/manual" || origins[id] != "received/upload" || body.Failed == nil {
		t.Errorf("listed origins %v, failed destinations %v", origins, body.Failed)
	}
	if mine := backup.Own(body.Backups); len(mine) != 1 || mine[0].ID != own.ID {
		t.Errorf("own backups: %v", mine)
	}

	// restore_latest passes over the received archive and a broken newer
	// backup, and its result says why.
	broken := archive.ExportID(e.A.R.ID, own.CreatedAt.Add(time.Minute))
	if err := os.WriteFile(filepath.Join(svc.Storage.(backup.Dir).Path, broken+".zip"), []byte("not an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.startJobs()
	res = e.do("POST", "/admin/tenant_backup/restore_latest/"+e.A.R.ID, op, nil)
	if res.Status != http.StatusAccepted {
		t.Fatalf("restore_latest: %d %s", res.Status, res.Body)
	}
	j := e.waitJob(op, res.json(t)["job_id"].(string))
	result, _ := j["result"].(map[string]any)
	skipped, _ := result["skipped"].([]any)
	if j["status"] != "complete" || result["backup_id"] != own.ID || len(skipped) != 1 ||
		skipped[0].(map[string]any)["backup_id"] != broken || !strings.Contains(skipped[0].(map[string]any)["reason"].(string), "not a readable ZIP") {
		t.Errorf("restore_latest job: %v", j)
	}
}
