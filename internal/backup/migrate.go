package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// Environment is another installation a tenant can be migrated to.
type Environment struct {
	Name    string
	BaseURL string
	APIKey  string // never logged
}

// ImportAnswer is what a target's import endpoint answers to an upload.
type ImportAnswer struct {
	Message    string `json:"message"`
	BackupID   string `json:"backup_id"`
	JobID      string `json:"job_id"`
	Validation Report `json:"validation"`
}

// MigrateResult tells where a migrated tenant went.
type MigrateResult struct {
	Environment        string          `json:"environment"`
	TargetBackupID     string          `json:"target_backup_id"`
	TargetJobID        string          `json:"target_job_id"`
	TargetRestaurantID string          `json:"target_restaurant_id"`
	Validation         Report          `json:"validation"`
	Import             json.RawMessage `json:"import,omitempty"`
}

// Migrate sends a stored backup to another environment's import API,
// checks the target's validation answer, and follows the target's import
// job to its end.
func (s *Service) Migrate(ctx context.Context, backupID string, env Environment, newName string, progress Progress) (MigrateResult, error) {
	res := MigrateResult{Environment: env.Name}
	if env.BaseURL == "" {
		return res, apperr.InvalidField("environment", "unknown environment %q", env.Name)
	}
	if env.APIKey == "" {
		return res, apperr.Errorf(apperr.Invalid, "no API key configured for environment %s (MIGRATE_API_KEY_%s)", env.Name, strings.ToUpper(env.Name))
	}
	progress.report(5, "validating %s before sending", backupID)
	// The target decrypts nothing: the archive travels as plain ZIP over
	// the (TLS) connection and is re-encrypted there if the target is so
	// configured.
	f, err := s.fetch(ctx, backupID)
	if err != nil {
		return res, err
	}
	defer discard(f)
	if _, rep, err := s.openChecked(ctx, f); err != nil {
		return res, err
	} else if !rep.Valid {
		return res, apperr.Errorf(apperr.Invalid, "%s", (&InvalidArchive{rep.Problems}).Error())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	progress.report(20, "sending to %s", env.Name)
	q := url.Values{}
	if newName != "" {
		q.Set("new_restaurant_name", newName)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.BaseURL+"/admin/tenant_backup/import_tenant?"+q.Encode(), f)
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/zip")
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	if st, err := f.Stat(); err == nil {
		req.ContentLength = st.Size()
	}
	client := &http.Client{Timeout: 30 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return res, fmt.Errorf("backup: send to %s: %w", env.Name, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	var answer ImportAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return res, fmt.Errorf("backup: %s answered %d with no import answer: %.200s", env.Name, resp.StatusCode, body)
	}
	res.Validation, res.TargetBackupID, res.TargetJobID = answer.Validation, answer.BackupID, answer.JobID
	if !answer.Validation.Valid {
		if len(answer.Validation.Problems) == 0 {
			return res, fmt.Errorf("backup: %s refused the archive (%d): %.300s", env.Name, resp.StatusCode, body)
		}
		return res, apperr.Errorf(apperr.Invalid, "%s refused the archive: %s", env.Name, (&InvalidArchive{answer.Validation.Problems}).Error())
	}
	if resp.StatusCode/100 != 2 || answer.JobID == "" {
		return res, fmt.Errorf("backup: %s answered %d: %.300s", env.Name, resp.StatusCode, body)
	}
	progress.report(50, "%s validated the archive; importing as job %s", env.Name, answer.JobID)
	job, err := s.followJob(ctx, env, answer.JobID, progress)
	if err != nil {
		return res, err
	}
	res.Import = job.Result
	var stats struct {
		RestaurantID string `json:"restaurant_id"`
	}
	_ = json.Unmarshal(job.Result, &stats)
	res.TargetRestaurantID = stats.RestaurantID
	progress.report(100, "migrated to %s as restaurant %s", env.Name, stats.RestaurantID)
	return res, nil
}

type remoteJob struct {
	Status   string          `json:"status"`
	Progress int             `json:"progress"`
	Message  string          `json:"message"`
	Result   json.RawMessage `json:"result"`
}

// followJob polls the target's job status until it ends.
func (s *Service) followJob(ctx context.Context, env Environment, jobID string, progress Progress) (remoteJob, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.BaseURL+"/admin/tenant_backup/backup_status/"+url.PathEscape(jobID), nil)
		if err != nil {
			return remoteJob{}, err
		}
		req.Header.Set("Authorization", "Bearer "+env.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return remoteJob{}, fmt.Errorf("backup: job status from %s: %w", env.Name, err)
		}
		var j remoteJob
		err = json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&j)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return j, fmt.Errorf("backup: job status from %s: %d %v", env.Name, resp.StatusCode, err)
		}
		switch j.Status {
		case "complete":
			return j, nil
		case "failed":
			return j, fmt.Errorf("backup: the import on %s failed: %s", env.Name, j.Message)
		}
		progress.report(50+j.Progress/2, "%s: %s", env.Name, j.Message)
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
