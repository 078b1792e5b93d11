package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// startJobs runs the job workers for the rest of the test.
func (e *env) startJobs() {
	e.t.Helper()
	if err := e.jobs.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.jobs.Stop(ctx)
	})
}

type jobState struct {
	Status   string          `json:"status"`
	Progress int             `json:"progress"`
	Message  string          `json:"message"`
	Result   json.RawMessage `json:"result"`
}

// waitJob polls a job page's status endpoint until the job ends.
func (b *browser) waitJob(jobPage string) jobState {
	b.e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		p := b.get(jobPage + "/status")
		if p.Status != http.StatusOK {
			b.e.t.Fatalf("%s/status: %d\n%s", jobPage, p.Status, p.Body)
		}
		var s jobState
		if err := json.Unmarshal([]byte(p.Body), &s); err != nil {
			b.e.t.Fatal(err)
		}
		if s.Status == "complete" || s.Status == "failed" {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.e.t.Fatalf("job %s did not end", jobPage)
	return jobState{}
}

var backupRow = regexp.MustCompile(`data-backup="(tenant_export_[^"]+)"`)

func TestBackupPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startJobs()
	b := e.browser()
	b.login("root@platform.test")
	base := tenantPath(e.A.ID, "/backups")
	if p := b.get(base); p.Status != 200 || !strings.Contains(p.Body, "No backups of this restaurant are stored") {
		t.Fatalf("empty backups page: %d\n%s", p.Status, p.Body)
	}

	// Export, and follow the job to its end.
	p := b.post(base+"/export", nil)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, tenantPath(e.A.ID, "/jobs/")) {
		t.Fatalf("export: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	jobPage := p.Location
	if page := b.get(jobPage); page.Status != 200 || !strings.Contains(page.Body, `id="job-progress"`) {
		t.Fatalf("job page: %d", page.Status)
	}
	if s := b.waitJob(jobPage); s.Status != "complete" || s.Progress != 100 {
		t.Fatalf("export job: %+v", s)
	}
	if page := b.get(jobPage); !strings.Contains(page.Body, "written") {
		t.Errorf("finished job page does not name the backup:\n%s", page.Body)
	}
	m := backupRow.FindStringSubmatch(b.get(base).Body)
	if m == nil {
		t.Fatal("the export is not listed")
	}
	id := m[1]

	// Validate: valid, in words.
	if p := b.get(base + "/" + id + "/validate"); p.Status != 200 || !strings.Contains(p.Body, "The backup is valid") {
		t.Errorf("validate: %d\n%s", p.Status, p.Body)
	}
	// Download: the archive itself.
	req, _ := http.NewRequest("GET", e.srv.URL+base+"/"+id+"/download", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 2)
	resp.Body.Read(head)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(head) != "PK" || !strings.Contains(resp.Header.Get("Content-Disposition"), id) {
		t.Errorf("download: %d %q %s", resp.StatusCode, head, resp.Header.Get("Content-Disposition"))
	}

	// Restore as a new restaurant.
	b.get(base)
	p = b.post(base+"/"+id+"/restore", url.Values{"target": {"new"}, "new_name": {"Alpha Sushi (restored)"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/jobs/") {
		t.Fatalf("restore: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	if s := b.waitJob(p.Location); s.Status != "complete" {
		t.Fatalf("restore job: %+v", s)
	}
	rs, err := e.db.Restaurants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var restored tenancy.Restaurant
	for _, r := range rs {
		if r.Name == "Alpha Sushi (restored)" {
			restored = r
		}
	}
	if restored.ID == "" || restored.ID == e.A.ID {
		t.Fatalf("no restored restaurant among %+v", rs)
	}
	if page := b.get(p.Location); !strings.Contains(page.Body, "/console/t/"+restored.ID+"/backups") {
		t.Error("the finished restore does not link to the new restaurant")
	}

	t.Run("form mistakes are explained", func(t *testing.T) {
		b.get(base)
		for _, c := range []struct {
			path string
			form url.Values
			want string
		}{
			{"/" + id + "/restore", url.Values{"target": {"this"}}, "tick the box"},
			{"/" + id + "/restore", url.Values{"target": {"elsewhere"}}, "choose this restaurant or a new one"},
			{"/" + id + "/migrate", url.Values{"environment": {"moon"}}, "configured environments"},
			{"/clone", url.Values{"new_name": {"  "}}, "new restaurant name: is required"},
		} {
			p := b.post(base+c.path, c.form)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, c.want) {
				t.Errorf("%s %v: %d\n%s", c.path, c.form, p.Status, p.Body)
			}
		}
		if p := b.get(base + "/tenant_export_nope/validate"); p.Status != http.StatusNotFound {
			t.Errorf("unknown backup: %d", p.Status)
		}
	})

	t.Run("an invalid archive shows its problems", func(t *testing.T) {
		bad := "tenant_export_" + e.A.ID + "_20260101000000"
		if err := e.backups.Storage.Put(context.Background(), bad+".zip", strings.NewReader("PK\x03\x04 not really a zip")); err != nil {
			t.Fatal(err)
		}
		p := b.get(base + "/" + bad + "/validate")
		if p.Status != 200 || !strings.Contains(p.Body, "The backup is not valid") || !strings.Contains(p.Body, `<ol id="problems"><li>`) {
			t.Errorf("validate an invalid archive: %d\n%s", p.Status, p.Body)
		}
	})

	t.Run("clone", func(t *testing.T) {
		p := b.post(base+"/clone", url.Values{"new_name": {"Alpha Sushi Two"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("clone: %d\n%s", p.Status, p.Body)
		}
		if s := b.waitJob(p.Location); s.Status != "complete" {
			t.Fatalf("clone job: %+v", s)
		}
	})

	t.Run("an admin exports their own restaurant but does not manage backups", func(t *testing.T) {
		a := e.browser()
		// The restore and the clone copied A's users: the e-mail is now in
		// three restaurants, so the form asks which, by name.
		a.login("admin@as.test", e.A.ID)
		page := a.get(base)
		if page.Status != 200 || strings.Contains(page.Body, `id="backups"`) || !strings.Contains(page.Body, `id="export"`) {
			t.Fatalf("admin backups page: %d", page.Status)
		}
		p := a.post(base+"/export", nil)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("admin export: %d\n%s", p.Status, p.Body)
		}
		if s := a.waitJob(p.Location); s.Status != "complete" {
			t.Errorf("admin export job: %+v", s)
		}
		if p := a.get(base + "/" + id + "/download"); p.Status != http.StatusForbidden {
			t.Errorf("admin download: %d", p.Status)
		}
	})

	t.Run("delete", func(t *testing.T) {
		b.get(base)
		if p := b.post(base+"/"+id+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if strings.Contains(b.get(base).Body, `data-backup="`+id+`"`) {
			t.Error("deleted backup still listed")
		}
	})
}

// TestBackupOnReadOnlyTenant: export works while a restaurant is read-only.
func TestBackupOnReadOnlyTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.SetRestaurantStatus(tenancy.WithTenant(context.Background(), e.A.ID), tenancy.ReadOnly); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("root@platform.test")
	b.get(tenantPath(e.A.ID, "/backups"))
	if p := b.post(tenantPath(e.A.ID, "/backups/export"), nil); p.Status != http.StatusSeeOther {
		t.Errorf("export of a read-only restaurant: %d\n%s", p.Status, p.Body)
	}
}
