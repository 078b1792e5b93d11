package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// backupRoutes are disaster recovery, under the seed's paths. Backup ids in
// paths name archives, not tenants, so those routes are NoTenant and for
// operators only; an admin may export and follow the jobs of their own
// restaurant.
func backupRoutes() []Route {
	const base = "/admin/tenant_backup/"
	return []Route{
		{Method: "GET", Pattern: base + "backups", Handler: (*Server).listBackups, Roles: superAdmins},
		// Backing up a read-only tenant is what one does in an emergency.
		{Method: "POST", Pattern: base + "export_tenant/{id}", Handler: (*Server).exportTenant, Roles: admins, Scope: TenantInPath, Always: true},
		// An API key may only upload an archive into a new restaurant (the
		// migration flow) and follow the jobs it started; importTenant and
		// backupStatus hold it to that.
		{Method: "POST", Pattern: base + "import_tenant", Handler: (*Server).importTenant, Roles: superAdmins, APIKey: true},
		{Method: "POST", Pattern: base + "clone_tenant", Handler: (*Server).cloneTenant, Roles: superAdmins},
		{Method: "POST", Pattern: base + "migrate_tenant", Handler: (*Server).migrateTenant, Roles: superAdmins},
		{Method: "DELETE", Pattern: base + "delete_backup/{id}", Handler: (*Server).deleteBackup, Roles: superAdmins},
		{Method: "GET", Pattern: base + "validate_backup/{id}", Handler: (*Server).validateBackup, Roles: superAdmins},
		{Method: "GET", Pattern: base + "backup_status/{job_id}", Handler: (*Server).backupStatus, Roles: admins, APIKey: true},
		{Method: "GET", Pattern: base + "download/{id}", Handler: (*Server).downloadBackup, Roles: superAdmins},
		// Emergency response: replace the tenant with its newest backup that
		// validates; works while the tenant is read-only.
		{Method: "POST", Pattern: base + "restore_latest/{id}", Handler: (*Server).restoreLatest, Roles: superAdmins, Scope: TenantInPath, Always: true},
		// Point-in-time restore and the diff that finds the moment, from
		// the restaurant's change log; they name the restaurant in the body
		// or the query, so they are NoTenant and for operators only.
		{Method: "POST", Pattern: base + "restore_point_in_time", Handler: (*Server).restorePointInTime, Roles: superAdmins},
		{Method: "GET", Pattern: base + "diff", Handler: (*Server).backupDiff, Roles: superAdmins},
	}
}

// transferTimeout bounds the upload or download of one archive.
const transferTimeout = time.Hour

func (s *Server) backupsConfigured() error {
	if s.Backups == nil || s.Jobs == nil {
		return apperr.Errorf(apperr.Internal, "backups are not configured")
	}
	return nil
}

func (s *Server) listBackups(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	rid := r.URL.Query().Get("restaurant_id")
	if rid != "" && !store.ValidID(rid) {
		return apperr.InvalidField("restaurant_id", "malformed restaurant id")
	}
	list, failed, err := s.Backups.Catalog(r.Context(), rid)
	if err != nil {
		return err
	}
	if list == nil {
		list = []backup.Backup{}
	}
	if failed == nil {
		failed = []backup.DestinationFailure{}
	}
	chains, err := s.Backups.Chains(r.Context(), rid, list)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"backups": list, "failed_destinations": failed, "chains": chains})
	return nil
}

// accepted answers a started job the way the seed's controller did.
func accepted(w http.ResponseWriter, message string, job jobs.Job, extra map[string]any) {
	body := map[string]any{"message": message, "job_id": job.ID, "status": job.Status}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, http.StatusAccepted, body)
}

func (s *Server) exportTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	rid, _ := tenancy.Tenant(r.Context())
	rest, err := s.DB.Restaurant(r.Context(), rid)
	if err != nil {
		return err
	}
	actor := backup.ActorOf(r.Context())
	job, err := s.Jobs.Enqueue(r.Context(), backup.KindExport, backup.ExportJob{RestaurantID: rid, Actor: actor},
		jobs.EnqueueOptions{RestaurantID: rid, CreatedBy: actor.String()})
	if err != nil {
		return err
	}
	accepted(w, "Export started for "+rest.Name, job, nil)
	return nil
}

type importRequest struct {
	BackupID           string `json:"backup_id"`
	TargetRestaurantID string `json:"target_restaurant_id"`
	NewRestaurantName  string `json:"new_restaurant_name"`
}

// importTenant imports a stored backup (JSON body naming it) or an uploaded
// archive (Content-Type application/zip: how another environment migrates
// a tenant here). An upload is validated at once and the answer carries the
// validation report; nothing is imported from an invalid archive.
func (s *Server) importTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	ctx := r.Context()
	actor := backup.ActorOf(ctx)
	var req importRequest
	var report *backup.Report
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	upload := ct == "application/zip" || ct == "application/octet-stream"
	if actor.APIKey != "" {
		if !upload {
			return apperr.Errorf(apperr.Forbidden, "an API key may only upload an archive into a new restaurant, not import a stored backup")
		}
		if r.URL.Query().Has("target_restaurant_id") {
			return &apperr.Error{Code: apperr.Forbidden, Field: "target_restaurant_id",
				Message: "an API key may only create a new restaurant, never replace an existing one"}
		}
	}
	if upload {
		// An archive may take longer to arrive than the server's read
		// timeout allows an ordinary request.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(transferTimeout))
		q := r.URL.Query()
		req.TargetRestaurantID, req.NewRestaurantName = q.Get("target_restaurant_id"), q.Get("new_restaurant_name")
		if err := s.checkImportTarget(r, req); err != nil {
			return err
		}
		b, rep, err := s.Backups.Receive(ctx, r.Body)
		if err != nil {
			return err
		}
		if !rep.Valid {
			rep.Manifest = nil
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"message": "the archive is not valid; nothing was imported", "validation": rep,
				"error": map[string]any{"code": apperr.Invalid, "message": "the archive is not valid"}})
			return nil
		}
		rep.Manifest = nil
		req.BackupID, report = b.ID, &rep
	} else {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		if req.BackupID == "" {
			return apperr.InvalidField("backup_id", "is required")
		}
		if _, err := s.Backups.Find(ctx, req.BackupID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.InvalidField("backup_id", "no such backup")
			}
			return err
		}
		if err := s.checkImportTarget(r, req); err != nil {
			return err
		}
	}
	p := backup.ImportJob{BackupID: req.BackupID, TargetID: req.TargetRestaurantID, NewName: req.NewRestaurantName, Actor: actor}
	tenant := p.TargetID
	if tenant == "" {
		p.NewID = store.NewID() // chosen now so the job belongs to its tenant from the start
		tenant = p.NewID
	}
	job, err := s.Jobs.Enqueue(ctx, backup.KindImport, p, jobs.EnqueueOptions{RestaurantID: tenant, CreatedBy: actor.String()})
	if err != nil {
		return err
	}
	extra := map[string]any{"backup_id": req.BackupID, "restaurant_id": tenant}
	if report != nil {
		extra["validation"] = report
	}
	accepted(w, "Import started", job, extra)
	return nil
}

func (s *Server) checkImportTarget(r *http.Request, req importRequest) error {
	if len(req.NewRestaurantName) > 200 {
		return apperr.InvalidField("new_restaurant_name", "must be at most 200 characters")
	}
	if req.TargetRestaurantID == "" {
		return nil
	}
	if req.NewRestaurantName != "" {
		// Renaming applies to new restaurants; a restore keeps the archive's name.
		return apperr.InvalidField("new_restaurant_name", "applies only to an import into a new restaurant")
	}
	if _, err := s.DB.Restaurant(r.Context(), req.TargetRestaurantID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return apperr.InvalidField("target_restaurant_id", "no such restaurant")
		}
		return err
	}
	return nil
}

type cloneRequest struct {
	SourceRestaurantID string `json:"source_restaurant_id"`
	NewRestaurantName  string `json:"new_restaurant_name"`
}

func (s *Server) cloneTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	var req cloneRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireString("new_restaurant_name", strings.TrimSpace(req.NewRestaurantName), 200); err != nil {
		return err
	}
	if _, err := s.DB.Restaurant(r.Context(), req.SourceRestaurantID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return apperr.InvalidField("source_restaurant_id", "no such restaurant")
		}
		return err
	}
	actor := backup.ActorOf(r.Context())
	p := backup.CloneJob{SourceID: req.SourceRestaurantID, NewName: strings.TrimSpace(req.NewRestaurantName), NewID: store.NewID(), Actor: actor}
	job, err := s.Jobs.Enqueue(r.Context(), backup.KindClone, p, jobs.EnqueueOptions{RestaurantID: p.NewID, CreatedBy: actor.String()})
	if err != nil {
		return err
	}
	accepted(w, "Clone started", job, map[string]any{"restaurant_id": p.NewID})
	return nil
}

type migrateRequest struct {
	BackupID          string `json:"backup_id"`
	Environment       string `json:"environment"`
	NewRestaurantName string `json:"new_restaurant_name"`
}

func (s *Server) migrateTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	var req migrateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	b, err := s.Backups.Find(r.Context(), req.BackupID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return apperr.InvalidField("backup_id", "no such backup")
		}
		return err
	}
	if _, ok := s.Environments[req.Environment]; !ok {
		names := make([]string, 0, len(s.Environments))
		for n := range s.Environments {
			names = append(names, n)
		}
		return apperr.InvalidField("environment", "unknown environment %q (configured: %s)", req.Environment, strings.Join(names, ", "))
	}
	actor := backup.ActorOf(r.Context())
	job, err := s.Jobs.Enqueue(r.Context(), backup.KindMigrate,
		backup.MigrateJob{BackupID: b.ID, Environment: req.Environment, NewName: req.NewRestaurantName, Actor: actor},
		jobs.EnqueueOptions{RestaurantID: b.RestaurantID, CreatedBy: actor.String()})
	if err != nil {
		return err
	}
	accepted(w, fmt.Sprintf("Migration to %s started", req.Environment), job, nil)
	return nil
}

func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.Backups.Delete(r.Context(), id); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "backup deleted", "backup_id", id, "by", backup.ActorOf(r.Context()).String())
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
	return nil
}

func (s *Server) validateBackup(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	rep, err := s.Backups.Validate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// backupStatus answers {status, progress, message, result}. An admin sees
// only the jobs of their own restaurant; another's is "not found".
func (s *Server) backupStatus(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	job, err := s.Jobs.Get(r.Context(), r.PathValue("job_id"))
	if err != nil {
		return err
	}
	p, _ := tenancy.PrincipalFrom(r.Context())
	if p.Role != tenancy.SuperAdmin && (job.RestaurantID == "" || job.RestaurantID != p.RestaurantID) {
		return apperr.Errorf(apperr.NotFound, "job not found")
	}
	// A key follows the imports it started, nothing else.
	if p.APIKeyName != "" && job.CreatedBy != backup.ActorOf(r.Context()).String() {
		return apperr.Errorf(apperr.NotFound, "job not found")
	}
	// An operator acting as one tenant sees that tenant's jobs only.
	if chosen := r.Header.Get(tenantHeaderKey); p.Role == tenancy.SuperAdmin && chosen != "" && chosen != job.RestaurantID {
		return apperr.Errorf(apperr.NotFound, "job not found")
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"job_id": job.ID, "kind": job.Kind, "status": job.Status, "progress": job.Progress,
		"message": job.Message, "result": job.Result, "restaurant_id": job.RestaurantID,
		"created_at": job.CreatedAt, "updated_at": job.UpdatedAt,
	})
	return nil
}

func (s *Server) downloadBackup(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	b, rc, err := s.Backups.Open(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	defer rc.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(transferTimeout))
	ct := "application/zip"
	if b.Encrypted {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.File+`"`)
	if b.Size > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(b.Size))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		s.Log.WarnContext(r.Context(), "backup download interrupted", "backup_id", b.ID, "err", err)
	}
	return nil
}

func (s *Server) restoreLatest(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	rid, _ := tenancy.Tenant(r.Context())
	actor := backup.ActorOf(r.Context())
	job, err := s.Jobs.Enqueue(r.Context(), backup.KindRestoreLatest, backup.RestoreLatestJob{RestaurantID: rid, Actor: actor},
		jobs.EnqueueOptions{RestaurantID: rid, CreatedBy: actor.String()})
	if err != nil {
		return err
	}
	accepted(w, "Restore from the newest valid backup started", job, nil)
	return nil
}

type pointInTimeRequest struct {
	RestaurantID string `json:"restaurant_id"`
	// At is the moment to restore to, RFC 3339.
	At      string `json:"at"`
	NewName string `json:"new_name,omitempty"`
	// Replace restores over the restaurant itself instead of into a new one.
	Replace bool `json:"replace,omitempty"`
}

// parseMoment reads an RFC 3339 moment of a request.
func parseMoment(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, apperr.InvalidField(field, "is required (RFC 3339)")
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || len(v) > 64 {
		return time.Time{}, apperr.InvalidField(field, "must be an RFC 3339 time, e.g. 2026-11-30T14:31:00Z")
	}
	return t.UTC(), nil
}

// existingRestaurant checks that field names a restaurant.
func (s *Server) existingRestaurant(r *http.Request, field, id string) error {
	if id == "" {
		return apperr.InvalidField(field, "is required")
	}
	if !store.ValidID(id) {
		return apperr.InvalidField(field, "malformed restaurant id")
	}
	if _, err := s.DB.Restaurant(r.Context(), id); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return apperr.InvalidField(field, "no such restaurant")
		}
		return err
	}
	return nil
}

// restorePointInTime starts a durable job restoring a restaurant to a
// moment: into a new restaurant, or in place with replace. A moment in the
// future or before the restaurant's first own backup is refused at once
// (422 naming at); the job checks the rest (a valid base with a log
// position, an unbroken log).
func (s *Server) restorePointInTime(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	ctx := r.Context()
	var req pointInTimeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.existingRestaurant(r, "restaurant_id", req.RestaurantID); err != nil {
		return err
	}
	at, err := parseMoment("at", req.At)
	if err != nil {
		return err
	}
	req.NewName = strings.TrimSpace(req.NewName)
	if len(req.NewName) > 200 {
		return apperr.InvalidField("new_name", "must be at most 200 characters")
	}
	if req.Replace && req.NewName != "" {
		return apperr.InvalidField("new_name", "applies only to a restore into a new restaurant")
	}
	if err := s.Backups.CheckMoment(at); err != nil {
		return err
	}
	list, err := s.Backups.List(ctx, req.RestaurantID)
	if err != nil {
		return err
	}
	earliest := time.Time{}
	for _, b := range backup.Own(list) {
		if earliest.IsZero() || b.CreatedAt.Before(earliest) {
			earliest = b.CreatedAt
		}
	}
	switch {
	case earliest.IsZero():
		return &apperr.Error{Code: apperr.OutOfRange, Field: "at", Message: "the restaurant has no own backup: a point-in-time restore starts from one"}
	case at.Before(earliest):
		return &apperr.Error{Code: apperr.OutOfRange, Field: "at",
			Message: fmt.Sprintf("%s is before the restaurant's oldest backup (%s)", at.Format(time.RFC3339), earliest.UTC().Format(time.RFC3339))}
	}
	actor := backup.ActorOf(ctx)
	p := backup.PointInTimeJob{RestaurantID: req.RestaurantID, At: at, Replace: req.Replace, NewName: req.NewName, Actor: actor}
	tenant := req.RestaurantID
	if !req.Replace {
		p.NewID = store.NewID() // chosen now so the job belongs to its tenant from the start
		tenant = p.NewID
	}
	job, err := s.Jobs.Enqueue(ctx, backup.KindRestorePointInTime, p, jobs.EnqueueOptions{RestaurantID: tenant, CreatedBy: actor.String()})
	if err != nil {
		return err
	}
	accepted(w, "Point-in-time restore started", job, map[string]any{"restaurant_id": tenant, "at": at})
	return nil
}

// backupDiff answers what changed in a restaurant between two moments.
func (s *Server) backupDiff(w http.ResponseWriter, r *http.Request) error {
	if err := s.backupsConfigured(); err != nil {
		return err
	}
	q := r.URL.Query()
	rid := q.Get("restaurant_id")
	if err := s.existingRestaurant(r, "restaurant_id", rid); err != nil {
		return err
	}
	from, err := parseMoment("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := parseMoment("to", q.Get("to"))
	if err != nil {
		return err
	}
	d, err := s.Backups.Diff(r.Context(), rid, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
