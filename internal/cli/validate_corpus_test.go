package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestValidateRefusesHostileCorpus: `backup validate FILE` exits non-zero
// and lists the problems for every archive of the hostile corpus.
func TestValidateRefusesHostileCorpus(t *testing.T) {
	parallel(t)
	dbURL, _ := storetest.NewDatabase(t)
	dir := filepath.Join(t.TempDir(), "backups")
	if out, code := runCLI(t, dbURL, dir, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", out)
	}
	var files []string
	for _, d := range []string{"hostile", "hostile-rows"} {
		f, _ := filepath.Glob(filepath.Join("..", "backup", "testdata", d, "*.zip"))
		files = append(files, f...)
	}
	if len(files) < 40 {
		t.Fatalf("the hostile corpus holds %d archives", len(files))
	}
	for _, f := range files {
		out, code := runCLI(t, dbURL, dir, "backup", "validate", f)
		if code == 0 || !strings.Contains(out, "INVALID") || !strings.Contains(out, "  - ") {
			t.Errorf("%s: exit %d\n%s", filepath.Base(f), code, out)
		}
	}
}
