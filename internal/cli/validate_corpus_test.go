package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestValidateRefusesHostileCorpus: `backup validate FILE` exits non-zero
// and lists the problems for every archive of the hostile corpus. Each
// archive is its own run of the command, the runs side by side: they only
// read the database and their file.
func TestValidateRefusesHostileCorpus(t *testing.T) {
	parallel(t)
	dbURL, _ := storetest.NewMigratedDatabase(t)
	dir := filepath.Join(t.TempDir(), "backups")
	var files []string
	for _, d := range []string{"hostile", "hostile-rows"} {
		f, _ := filepath.Glob(filepath.Join("..", "backup", "testdata", d, "*.zip"))
		files = append(files, f...)
	}
	if len(files) < 40 {
		t.Fatalf("the hostile corpus holds %d archives", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			parallel(t)
			out, code := runCLI(t, dbURL, dir, "backup", "validate", f)
			if code == 0 || !strings.Contains(out, "INVALID") || !strings.Contains(out, "  - ") {
				t.Errorf("exit %d\n%s", code, out)
			}
		})
	}
}
