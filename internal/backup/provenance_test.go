package backup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// clock is a settable clock for the database, so backups and arrivals get
// the times a test chooses.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func withClock(s *backup.Service, start time.Time) *clock {
	c := &clock{t: start}
	s.DB = s.DB.WithClock(c.now)
	return c
}

// forge rewrites an archive's manifest to claim it was exported at at,
// and renames its restaurant so a restore from it shows.
func forge(t testing.TB, valid []byte, at time.Time, name string) []byte {
	t.Helper()
	af := unzip(t, valid)
	m := af.manifest(t)
	rid := m["restaurant_id"].(string)
	m["exported_at"] = at.UTC().Format(time.RFC3339Nano)
	m["export_id"] = archive.ExportID(rid, at)
	af.setManifest(t, m)
	rows := af.rows(t, "restaurants")
	rows[0]["name"] = name
	af.setTable(t, "restaurants", rows, true)
	return af.zip(t)
}

func operator(ctx context.Context) context.Context {
	return tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: store.NewID(), Role: tenancy.SuperAdmin})
}

func ids(list []backup.Backup) []string {
	out := make([]string, len(list))
	for i, b := range list {
		out[i] = b.ID
	}
	return out
}

// TestForgedArchivesNeverTakeOverHistory is the hostile operator's attack:
// archives of a restaurant claiming to be newer than its backups. One dated
// years ahead is refused naming exported_at; those within the clock-skew
// allowance are stored as received, and neither restore latest nor cleanup
// counts them: both genuine backups survive cleanup --keep 2 and restore
// latest uses the newest genuine one.
func TestForgedArchivesNeverTakeOverHistory(t *testing.T) {
	t.Parallel()
	s := newService(t)
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	c := withClock(s, t0)
	ctx := operator(context.Background())
	r := seedTenant(t, s.DB, "Genuine Grill", 5)

	var genuine []backup.Backup
	for i := range 2 {
		c.set(t0.Add(time.Duration(i) * time.Hour))
		b, err := s.Export(ctx, r.ID, "tester", nil)
		if err != nil {
			t.Fatal(err)
		}
		genuine = append(genuine, b)
	}
	c.set(t0.Add(3 * time.Hour))
	valid := validArchive(t, s, r.ID)

	future := forge(t, valid, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "Forged 2030")
	b, rep, err := s.Receive(ctx, bytes.NewReader(future))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || b.ID != "" || !strings.Contains(reportText(rep), "exported_at 2030-01-01T00:00:00Z is in the future") {
		t.Fatalf("a 2030 archive was not refused for its date: %+v %+v", b, rep.Problems)
	}
	if v, _ := s.ValidateReader(ctx, bytes.NewReader(future)); v.Valid {
		t.Error("validate passes an archive that an upload refuses")
	}
	if _, err := s.ImportReader(ctx, bytes.NewReader(future), backup.ImportOptions{}, nil); err == nil {
		t.Error("imported a 2030 archive from a stream")
	}
	f, err := os.CreateTemp(t.TempDir(), "future-*.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(future); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, f, backup.ImportOptions{}, nil); err == nil || !strings.Contains(err.Error(), "exported_at") {
		t.Errorf("imported a 2030 archive file: %v", err)
	}

	// Within the allowance: stored, but as received.
	var received []backup.Backup
	for i := range 3 {
		at := t0.Add(3*time.Hour + backup.MaxClockSkew - time.Minute)
		forged := forge(t, valid, at, "Forged")
		b, rep, err := s.Receive(ctx, bytes.NewReader(forged))
		if err != nil || !rep.Valid {
			t.Fatalf("forged archive %d: %v %+v", i, err, rep.Problems)
		}
		if b.Origin != backup.OriginReceived || !strings.HasPrefix(b.ID, "tenant_received_"+r.ID+"_20261130050000") {
			t.Errorf("stored as %s (%s), want a received archive named for its arrival", b.ID, b.Origin)
		}
		if !b.CreatedAt.Equal(t0.Add(3 * time.Hour)) {
			t.Errorf("created_at %s is not this installation's time of arrival", b.CreatedAt)
		}
		received = append(received, b)
	}

	res, err := s.RestoreNewestValid(ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Backup.ID != genuine[1].ID || len(res.Skipped) != 0 {
		t.Errorf("restore latest used %s skipping %v, want %s", res.Backup.ID, res.Skipped, genuine[1].ID)
	}
	if got, _ := s.DB.Restaurant(context.Background(), r.ID); got.Name != "Genuine Grill" {
		t.Errorf("after restore latest the restaurant is %q", got.Name)
	}

	deleted, err := s.Cleanup(ctx, 2)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("cleanup --keep 2 deleted %v (%v)", ids(deleted), err)
	}
	list, err := s.List(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 || len(backup.Own(list)) != 2 {
		t.Errorf("after cleanup: %v", ids(list))
	}
	// A received archive is still there to use by id.
	if stats, err := s.Restore(ctx, received[0].ID, backup.ImportOptions{NewName: "Imported on purpose"}, nil); err != nil || stats.RestaurantID == r.ID {
		t.Errorf("explicit import of a received archive: %+v %v", stats, err)
	}
}

func reportText(rep backup.Report) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// TestProvenanceIsRecorded: each stored archive says where it came from,
// who stored it and when, beside the archive; a lost provenance file or
// database loses only detail, and a tampered one cannot make a received
// archive an own backup.
func TestProvenanceIsRecorded(t *testing.T) {
	t.Parallel()
	s := newService(t)
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	c := withClock(s, t0)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Traced Tavern", 3)
	other := seedTenant(t, s.DB, "Other", 1)

	manual, err := s.Export(ctx, r.ID, "super_admin:someone", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(time.Hour))
	if _, err := s.BackupAll(ctx, "schedule", nil); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(2 * time.Hour))
	upload, _, err := s.Receive(operator(ctx), bytes.NewReader(validArchive(t, s, other.ID)))
	if err != nil {
		t.Fatal(err)
	}
	keyCtx := tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: store.NewID(), Role: tenancy.SuperAdmin, TokenID: "api_key"})
	c.set(t0.Add(3 * time.Hour))
	migrated, _, err := s.Receive(keyCtx, bytes.NewReader(validArchive(t, s, other.ID)))
	if err != nil {
		t.Fatal(err)
	}

	list, failed, err := s.Catalog(ctx, "")
	if err != nil || len(failed) != 0 {
		t.Fatal(err, failed)
	}
	want := map[string]backup.Provenance{
		manual.ID:   {Origin: backup.OriginBackup, Reason: backup.ReasonManual, By: "super_admin:someone", At: t0},
		upload.ID:   {Origin: backup.OriginReceived, Reason: backup.ReasonUpload, At: t0.Add(2 * time.Hour)},
		migrated.ID: {Origin: backup.OriginReceived, Reason: backup.ReasonMigration, At: t0.Add(3 * time.Hour)},
	}
	scheduled := 0
	for _, b := range list {
		p := b.Provenance
		if p == nil {
			t.Fatalf("%s has no provenance", b.ID)
		}
		if p.Reason == backup.ReasonScheduled {
			scheduled++
			if b.Origin != backup.OriginBackup || p.By != "schedule" || !p.At.Equal(t0.Add(time.Hour)) {
				t.Errorf("scheduled backup %s: %+v", b.ID, p)
			}
			continue
		}
		w, ok := want[b.ID]
		if !ok {
			t.Errorf("unexpected archive %s", b.ID)
			continue
		}
		if b.Origin != w.Origin || p.Origin != w.Origin || p.Reason != w.Reason || !p.At.Equal(w.At) || (w.By != "" && p.By != w.By) {
			t.Errorf("%s: %s %+v, want %+v", b.ID, b.Origin, p, w)
		}
		if w.Origin == backup.OriginReceived && (p.Source == nil || !strings.HasPrefix(p.Source.ExportID, "tenant_export_"+other.ID) || !strings.HasPrefix(p.By, "super_admin:")) {
			t.Errorf("%s: the received archive's own claims or receiver are not kept: %+v", b.ID, p)
		}
	}
	if scheduled != 2 || len(list) != 5 {
		t.Errorf("%d scheduled backups among %v", scheduled, ids(list))
	}

	// A provenance file claiming a received archive is an own backup is
	// not believed: the name decides.
	dir := s.Storage.(backup.Dir).Path
	if err := os.WriteFile(filepath.Join(dir, upload.ID+".origin.json"), []byte(`{"origin":"backup","reason":"manual","by":"forger"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Lost provenance files (or a lost database) leave own and received
	// apart.
	if err := os.Remove(filepath.Join(dir, migrated.ID+".origin.json")); err != nil {
		t.Fatal(err)
	}
	list, _, _ = s.Catalog(ctx, other.ID)
	for _, b := range list {
		switch b.ID {
		case upload.ID:
			if b.Origin != backup.OriginReceived || b.Provenance.Origin != backup.OriginReceived {
				t.Errorf("a tampered provenance file made %s %s", b.ID, b.Provenance.Origin)
			}
		case migrated.ID:
			if b.Origin != backup.OriginReceived || b.Provenance != nil {
				t.Errorf("without its provenance file %s is %s %+v", b.ID, b.Origin, b.Provenance)
			}
		}
	}
	if own := backup.Own(list); len(own) != 1 {
		t.Errorf("own backups of the other restaurant: %v", ids(own))
	}

	// Received archives can be validated, downloaded and deleted by id;
	// deleting removes the provenance file too.
	if rep, err := s.Validate(ctx, upload.ID); err != nil || !rep.Valid {
		t.Errorf("validate a received archive: %v %v", rep.Problems, err)
	}
	if _, rc, err := s.Open(ctx, upload.ID); err != nil {
		t.Errorf("download a received archive: %v", err)
	} else {
		rc.Close()
	}
	if err := s.Delete(ctx, upload.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, upload.ID+".origin.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the provenance file outlived its archive: %v", err)
	}
}

// TestCleanupKeepsNewestValidBackup: when the newest backups are broken,
// cleanup keeps the newest one that validates besides the keep newest.
func TestCleanupKeepsNewestValidBackup(t *testing.T) {
	t.Parallel()
	s := newService(t)
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	c := withClock(s, t0)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Fragile Fare", 2)
	var good []backup.Backup
	for i := range 2 {
		c.set(t0.Add(time.Duration(i) * time.Hour))
		b, err := s.Export(ctx, r.ID, "tester", nil)
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, b)
	}
	dir := s.Storage.(backup.Dir).Path
	var broken []string
	for i := range 2 {
		id := archive.ExportID(r.ID, t0.Add(time.Duration(2+i)*time.Hour))
		if err := os.WriteFile(filepath.Join(dir, id+".zip"), []byte("not an archive"), 0o644); err != nil {
			t.Fatal(err)
		}
		broken = append(broken, id)
	}
	deleted, err := s.Cleanup(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 1 || deleted[0].ID != good[0].ID {
		t.Errorf("deleted %v, want only %s", ids(deleted), good[0].ID)
	}
	list, _ := s.List(ctx, r.ID)
	if got := ids(list); len(got) != 3 || got[2] != good[1].ID {
		t.Errorf("kept %v, want the two broken and %s", got, good[1].ID)
	}
	res, err := s.RestoreNewestValid(ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Backup.ID != good[1].ID || len(res.Skipped) != 2 || res.Skipped[0].BackupID != broken[1] || res.Skipped[1].BackupID != broken[0] {
		t.Errorf("restore latest: used %s, skipped %+v", res.Backup.ID, res.Skipped)
	}
	for _, sk := range res.Skipped {
		if !strings.Contains(sk.Reason, "invalid") {
			t.Errorf("skipped %s for %q", sk.BackupID, sk.Reason)
		}
	}
}

// TestRestoreLatestExplainsFailure: with no backup that validates, restore
// latest fails and names each backup it skipped and why.
func TestRestoreLatestExplainsFailure(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Nothing Good", 1)
	id := archive.ExportID(r.ID, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	dir := s.Storage.(backup.Dir).Path
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".zip"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := s.RestoreNewestValid(ctx, r.ID, nil)
	if err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "not a readable ZIP") || len(res.Skipped) != 1 {
		t.Errorf("restore latest with only a broken backup: %v %+v", err, res.Skipped)
	}
}

// TestClockSteppedBack: a backup made here stays usable when the clock is
// later stepped back: only arriving archives are held to the clock.
func TestClockSteppedBack(t *testing.T) {
	t.Parallel()
	s := newService(t)
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	c := withClock(s, t0.Add(time.Hour))
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Drifting Diner", 2)
	b, err := s.Export(ctx, r.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.set(t0)
	if rep, err := s.Validate(ctx, b.ID); err != nil || !rep.Valid {
		t.Errorf("validate after the clock stepped back: %v %v", rep.Problems, err)
	}
	if res, err := s.RestoreNewestValid(ctx, r.ID, nil); err != nil || res.Backup.ID != b.ID {
		t.Errorf("restore latest after the clock stepped back: %+v %v", res, err)
	}
}
