package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestHostileUploadsAnswerInvalid: every archive of the hostile corpus,
// posted to the import endpoint, is answered valid:false with its
// problems, and nothing is created or stored.
func TestHostileUploadsAnswerInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var files []string
	for _, dir := range []string{"hostile", "hostile-rows"} {
		f, _ := filepath.Glob(filepath.Join("..", "backup", "testdata", dir, "*.zip"))
		files = append(files, f...)
	}
	if len(files) < 40 {
		t.Fatalf("the hostile corpus holds %d archives", len(files))
	}
	before, _ := e.db.Restaurants(context.Background())
	op := e.tokenFor(tenancy.SuperAdmin, e.A)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res := e.do("POST", "/admin/tenant_backup/import_tenant", op, data, "Content-Type", "application/zip")
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", filepath.Base(f), res.Status, res.Body)
			continue
		}
		v := res.json(t)["validation"].(map[string]any)
		if v["valid"] != false || len(v["problems"].([]any)) == 0 {
			t.Errorf("%s: validation answer %v", filepath.Base(f), v)
		}
	}
	after, _ := e.db.Restaurants(context.Background())
	if len(after) != len(before) {
		t.Error("a restaurant was created")
	}
	if list, _ := envBackups[e].List(context.Background(), ""); len(list) != 0 {
		t.Errorf("an invalid upload was stored: %v", list)
	}
}
