package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

type backupsData struct {
	Base         string
	Backups      []backup.Backup
	Jobs         []jobs.Job
	Environments []string
	CanManage    bool
	Restaurants  []tenancy.Restaurant
	PointInTime  pointInTimeData
}

func (c *Console) backupsConfigured() error {
	if c.Backups == nil || c.Jobs == nil {
		return apperr.Errorf(apperr.NotFound, "Backups are not configured on this server.")
	}
	return nil
}

// backupsPage is the seed's "Admin > Tenant Backup": export and its jobs
// for the restaurant's admin; the stored backups and everything done with
// them for the operator (as the API allows).
func (c *Console) backupsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	d := backupsData{Base: "/console/t/" + s.Restaurant.ID, CanManage: s.Super()}
	var err error
	if d.Jobs, err = c.DB.RecentJobs(r.Context(), s.Restaurant.ID, 10); err != nil {
		return err
	}
	if s.Super() {
		if d.Backups, err = c.Backups.List(r.Context(), s.Restaurant.ID); err != nil {
			return err
		}
		for name := range c.Environments {
			d.Environments = append(d.Environments, name)
		}
		sort.Strings(d.Environments)
		if d.PointInTime, err = c.pointInTime(r, s, d.Backups); err != nil {
			return c.backupsFormError(w, r, s, err)
		}
	}
	c.render(w, r, http.StatusOK, "backups", &view{Title: "Tenant backup · " + s.Restaurant.Name, Section: "backups", Session: s, Data: d}, nil)
	return nil
}

func (c *Console) enqueue(r *http.Request, s *session, kind string, payload any, tenant string) (jobs.Job, error) {
	return c.Jobs.Enqueue(s.ctx(r), kind, payload, jobs.EnqueueOptions{RestaurantID: tenant, CreatedBy: actorOf(r, s).String()})
}

func actorOf(r *http.Request, s *session) backup.Actor {
	return backup.ActorOf(s.ctx(r))
}

func (c *Console) exportBackup(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	job, err := c.enqueue(r, s, backup.KindExport, backup.ExportJob{RestaurantID: s.Restaurant.ID, Actor: actorOf(r, s)}, s.Restaurant.ID)
	if err != nil {
		return err
	}
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/jobs/"+job.ID, "Export of "+s.Restaurant.Name+" started.")
}

// backupOf finds a stored backup of the page's restaurant; another
// restaurant's backup is not found, like any other of its resources.
func (c *Console) backupOf(r *http.Request, s *session) (backup.Backup, error) {
	b, err := c.Backups.Find(r.Context(), r.PathValue("bid"))
	if err != nil || b.RestaurantID != s.Restaurant.ID {
		if err == nil || apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Invalid) {
			return b, notFoundPage()
		}
		return b, err
	}
	return b, nil
}

// backupsFormError shows a form mistake on the backups page.
func (c *Console) backupsFormError(w http.ResponseWriter, r *http.Request, s *session, err error) error {
	if apperr.Is(err, apperr.OutOfRange) {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			err = apperr.InvalidField(ae.Field, "%s", ae.Message)
		}
	}
	if !apperr.Is(err, apperr.Invalid) {
		return err
	}
	d := backupsData{Base: "/console/t/" + s.Restaurant.ID, CanManage: s.Super()}
	d.Jobs, _ = c.DB.RecentJobs(r.Context(), s.Restaurant.ID, 10)
	d.Backups, _ = c.Backups.List(r.Context(), s.Restaurant.ID)
	for name := range c.Environments {
		d.Environments = append(d.Environments, name)
	}
	sort.Strings(d.Environments)
	d.PointInTime, _ = c.pointInTime(r, s, d.Backups)
	c.render(w, r, http.StatusUnprocessableEntity, "backups", &view{Title: "Tenant backup · " + s.Restaurant.Name, Section: "backups", Session: s, Data: d}, err)
	return nil
}

func newName(r *http.Request, required bool) (string, error) {
	name := strings.TrimSpace(r.PostFormValue("new_name"))
	switch {
	case required && name == "":
		return "", apperr.InvalidField("new restaurant name", "is required")
	case len(name) > 200:
		return "", apperr.InvalidField("new restaurant name", "must be at most 200 characters")
	}
	return name, nil
}

func (c *Console) cloneTenant(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	name, err := newName(r, true)
	if err != nil {
		return c.backupsFormError(w, r, s, err)
	}
	p := backup.CloneJob{SourceID: s.Restaurant.ID, NewName: name, NewID: store.NewID(), Actor: actorOf(r, s)}
	job, err := c.enqueue(r, s, backup.KindClone, p, p.NewID)
	if err != nil {
		return err
	}
	return redirect(w, r, "/console/jobs/"+job.ID, fmt.Sprintf("Cloning %s as %s.", s.Restaurant.Name, name))
}

// restoreBackup imports a backup over this restaurant (its rows are
// replaced in one transaction) or into a new restaurant.
func (c *Console) restoreBackup(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	b, err := c.backupOf(r, s)
	if err != nil {
		return err
	}
	p := backup.ImportJob{BackupID: b.ID, Actor: actorOf(r, s)}
	var msg string
	switch r.PostFormValue("target") {
	case "this":
		if r.PostFormValue("confirm") != "replace" {
			return c.backupsFormError(w, r, s, apperr.InvalidField("confirm", "tick the box to confirm that %s's current data will be replaced", s.Restaurant.Name))
		}
		p.TargetID = s.Restaurant.ID
		msg = "Restoring " + s.Restaurant.Name + " from " + b.ID + "."
	case "new":
		if p.NewName, err = newName(r, false); err != nil {
			return c.backupsFormError(w, r, s, err)
		}
		p.NewID = store.NewID()
		msg = "Restoring " + b.ID + " as a new restaurant."
	default:
		return c.backupsFormError(w, r, s, apperr.InvalidField("restore into", "choose this restaurant or a new one"))
	}
	tenant := p.TargetID
	if tenant == "" {
		tenant = p.NewID
	}
	job, err := c.enqueue(r, s, backup.KindImport, p, tenant)
	if err != nil {
		return err
	}
	return redirect(w, r, "/console/jobs/"+job.ID, msg)
}

func (c *Console) migrateBackup(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	b, err := c.backupOf(r, s)
	if err != nil {
		return err
	}
	env := r.PostFormValue("environment")
	if _, ok := c.Environments[env]; !ok {
		return c.backupsFormError(w, r, s, apperr.InvalidField("environment", "choose one of the configured environments"))
	}
	name, err := newName(r, false)
	if err != nil {
		return c.backupsFormError(w, r, s, err)
	}
	job, err := c.enqueue(r, s, backup.KindMigrate, backup.MigrateJob{BackupID: b.ID, Environment: env, NewName: name, Actor: actorOf(r, s)}, s.Restaurant.ID)
	if err != nil {
		return err
	}
	return redirect(w, r, "/console/jobs/"+job.ID, fmt.Sprintf("Migrating %s to %s.", b.ID, env))
}

func (c *Console) deleteBackup(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	b, err := c.backupOf(r, s)
	if err != nil {
		return err
	}
	if err := c.Backups.Delete(r.Context(), b.ID); err != nil {
		return err
	}
	c.Log.InfoContext(r.Context(), "backup deleted", "backup_id", b.ID, "by", actorOf(r, s).String())
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/backups", "Deleted "+b.ID+".")
}

type validateData struct {
	Base   string
	Backup backup.Backup
	Report backup.Report
}

func (c *Console) validateBackup(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	b, err := c.backupOf(r, s)
	if err != nil {
		return err
	}
	rep, err := c.Backups.Validate(r.Context(), b.ID)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "validate", &view{Title: "Validate " + b.ID, Section: "backups", Session: s,
		Data: validateData{Base: "/console/t/" + s.Restaurant.ID, Backup: b, Report: rep}}, nil)
	return nil
}

func (c *Console) downloadBackup(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	b, err := c.backupOf(r, s)
	if err != nil {
		return err
	}
	b, rc, err := c.Backups.Open(r.Context(), b.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	// A large archive takes longer than the server's per-request write
	// timeout; the API's download allows the same.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	ct := "application/zip"
	if b.Encrypted {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.File+`"`)
	if b.Size > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(b.Size))
	}
	if _, err := io.Copy(w, rc); err != nil {
		c.Log.WarnContext(r.Context(), "backup download interrupted", "backup_id", b.ID, "err", err)
	}
	return nil
}

// jobOf reads a job the page may show: on a restaurant's page only that
// restaurant's jobs; the operator's job pages show any.
func (c *Console) jobOf(r *http.Request, s *session) (jobs.Job, error) {
	if err := c.backupsConfigured(); err != nil {
		return jobs.Job{}, err
	}
	id := r.PathValue("job_id")
	if !store.ValidID(id) {
		return jobs.Job{}, notFoundPage()
	}
	j, err := c.Jobs.Get(r.Context(), id)
	if apperr.Is(err, apperr.NotFound) {
		return j, notFoundPage()
	}
	if err != nil {
		return j, err
	}
	if s.Restaurant.ID != "" && j.RestaurantID != s.Restaurant.ID {
		return j, notFoundPage()
	}
	return j, nil
}

type jobData struct {
	Job       jobs.Job
	StatusURL string
	Done      bool
	// From the result: the restaurant a restore or clone wrote, the backup
	// an export made, and the problems of a failed validation.
	RestaurantID string
	BackupID     string
	// Actor is who started the job, by e-mail.
	Actor string
}

// actorName names a job's creator ("role:user id", as backup.Actor writes
// it) by e-mail: the operator's or the restaurant user's. An API key is
// named as such; an actor that no longer exists keeps its id.
func (c *Console) actorName(ctx context.Context, j jobs.Job) string {
	role, id, ok := strings.Cut(j.CreatedBy, ":")
	switch {
	case !ok || j.CreatedBy == "system":
		return j.CreatedBy
	case role == "api_key":
		return "an installation API key"
	case role == string(tenancy.SuperAdmin):
		if u, err := c.DB.SuperAdmin(ctx, id); err == nil {
			return u.Email
		}
	case j.RestaurantID != "":
		if u, err := c.DB.User(tenancy.WithTenant(ctx, j.RestaurantID), id); err == nil {
			return u.Email
		}
	}
	return j.CreatedBy
}

func (c *Console) jobPage(w http.ResponseWriter, r *http.Request, s *session) error {
	j, err := c.jobOf(r, s)
	if err != nil {
		return err
	}
	d := jobData{Job: j, StatusURL: r.URL.Path + "/status", Done: j.Status == string(jobs.Complete) || j.Status == string(jobs.Failed),
		Actor: c.actorName(r.Context(), j)}
	var res struct {
		ID           string `json:"id"`
		RestaurantID string `json:"restaurant_id"`
	}
	if len(j.Result) > 0 && json.Unmarshal(j.Result, &res) == nil {
		d.RestaurantID = res.RestaurantID
		if strings.HasPrefix(res.ID, "tenant_export_") {
			d.BackupID = res.ID
		}
	}
	c.render(w, r, http.StatusOK, "job", &view{Title: jobKind(j.Kind), Section: "backups", Session: s, Data: d}, nil)
	return nil
}

// jobStatus is the small JSON the job page polls: the API's backup_status.
func (c *Console) jobStatus(w http.ResponseWriter, r *http.Request, s *session) error {
	j, err := c.jobOf(r, s)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]any{"job_id": j.ID, "kind": j.Kind, "status": j.Status,
		"progress": j.Progress, "message": j.Message, "result": j.Result})
}

// jobKind names a job kind in words.
func jobKind(kind string) string {
	switch kind {
	case backup.KindExport:
		return "Export"
	case backup.KindImport:
		return "Restore"
	case backup.KindClone:
		return "Clone"
	case backup.KindMigrate:
		return "Migration"
	case backup.KindRestoreLatest:
		return "Restore from the newest valid backup"
	}
	return kind
}

func init() { funcs["jobKind"] = jobKind }
