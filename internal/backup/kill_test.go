package backup_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// The child side of TestKilledImportChangesNothing: it runs an import that
// stops, mid-way through its transaction, to wait for the kill.
const childEnv = "ORDERSUITE_IMPORT_CHILD"

type pausingSource struct {
	a     *archive.Archive
	after int
	seen  int
}

func (p *pausingSource) Rows(ctx context.Context, table string, fn func(map[string]any) error) error {
	return p.a.Rows(ctx, table, func(row map[string]any) error {
		p.seen++
		if p.seen == p.after {
			fmt.Println("MIDWAY")
			os.Stdout.Sync()
			select {} // the parent kills this process here
		}
		return fn(row)
	})
}

func TestImportChild(t *testing.T) {
	t.Parallel()
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("runs only as the child of TestKilledImportChangesNothing")
	}
	var dbURL, file, target string
	var replace bool
	parts := strings.Split(spec, "\n")
	dbURL, file, target, replace = parts[0], parts[1], parts[2], parts[3] == "replace"
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	a, problems := archive.Open(bytes.NewReader(data), int64(len(data)), archive.DefaultLimits)
	if a == nil {
		t.Fatal(problems)
	}
	tables := a.Tables(store.CopyTables())
	_, err = db.ImportTenant(ctx, store.ImportSpec{TargetID: target, Replace: replace, Tables: tables}, &pausingSource{a: a, after: 1500})
	t.Fatalf("import was not killed: %v", err)
}

// TestKilledImportChangesNothing kills -9 a process in the middle of an
// import (rows already written inside its transaction) and checks that the
// database is as before: no new restaurant, the replaced tenant intact, and
// the next import works.
func TestKilledImportChangesNothing(t *testing.T) {
	t.Parallel()
	if os.Getenv(childEnv) != "" {
		t.Skip("child process")
	}
	ctx := context.Background()
	dbURL, opts := storetest.NewMigratedDatabase(t)
	db, err := store.Open(ctx, dbURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &backup.Service{DB: db, Storage: backup.Dir{Path: t.TempDir()}, AppVersion: "test", TempDir: t.TempDir()}
	src := seedTenant(t, db, "Kill Target", 2000)
	file := filepath.Join(t.TempDir(), "archive.zip")
	if err := os.WriteFile(file, validArchive(t, s, src.ID), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"new", "replace"} {
		t.Run(mode, func(t *testing.T) {
			before := dump(t, db, src.ID)
			n := countRestaurants(t, db)
			target := store.NewID()
			if mode == "replace" {
				target = src.ID
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{dbURL, file, target, mode}, "\n"))
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			midway := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if sc.Text() == "MIDWAY" {
						midway <- true
						return
					}
				}
				midway <- false
			}()
			select {
			case ok := <-midway:
				if !ok {
					cmd.Wait()
					t.Fatalf("the child ended before the middle of its import: %s", stderr.String())
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the child did not reach the middle of its import")
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs
				t.Fatal(err)
			}
			cmd.Wait()

			if got := countRestaurants(t, db); got != n {
				t.Errorf("%d restaurants after the killed import, %d before", got, n)
			}
			if !reflect.DeepEqual(dump(t, db, src.ID), before) {
				t.Error("the source tenant changed")
			}
			if _, err := db.Restaurant(ctx, target); mode == "new" && err == nil {
				t.Error("the killed import's restaurant exists")
			}
			// The database is usable: the same import now completes.
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			opt := backup.ImportOptions{NewID: target}
			if mode == "replace" {
				opt = backup.ImportOptions{TargetID: target}
			}
			stats, err := s.Import(ctx, f, opt, nil)
			if err != nil {
				t.Fatalf("import after the kill: %v", err)
			}
			if stats.Rows["tenant_events"] != 2000 {
				t.Errorf("imported %v", stats.Rows)
			}
		})
	}
}
