package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Job kinds.
const (
	KindExport        = "backup.export"
	KindImport        = "backup.import"
	KindClone         = "backup.clone"
	KindMigrate       = "backup.migrate"
	KindRestoreLatest = "backup.restore_latest"
	KindBackupAll     = "backup.all"
	KindCleanup       = "backup.cleanup"
	KindValidateAll   = "backup.validate_all"
	// KindRestorePointInTime restores a restaurant to a moment; one of
	// store.RestoreJobKinds.
	KindRestorePointInTime = "backup.restore_point_in_time"
)

// Actor is who asked for a job, carried in its payload so the job's writes
// are audited under that person.
type Actor struct {
	UserID string       `json:"user_id"`
	Role   tenancy.Role `json:"role"`
	IP     string       `json:"ip,omitempty"`
	// APIKey is the name of the installation API key that asked (UserID is
	// then the key's id).
	APIKey string `json:"api_key,omitempty"`
}

// ActorOf describes the caller in ctx.
func ActorOf(ctx context.Context) Actor {
	p, _ := tenancy.PrincipalFrom(ctx)
	return Actor{UserID: p.UserID, Role: p.Role, IP: p.IP, APIKey: p.APIKeyName}
}

func (a Actor) String() string {
	switch {
	case a.UserID == "":
		return "system"
	case a.APIKey != "":
		return "api_key:" + a.APIKey + ":" + a.UserID
	}
	return string(a.Role) + ":" + a.UserID
}

func (a Actor) context(ctx context.Context) context.Context {
	if a.UserID == "" {
		return ctx
	}
	return tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: a.UserID, Role: a.Role, IP: a.IP, APIKeyName: a.APIKey})
}

// Payloads of the job kinds.
type (
	ExportJob struct {
		RestaurantID string `json:"restaurant_id"`
		Actor        Actor  `json:"actor"`
	}
	ImportJob struct {
		BackupID string `json:"backup_id"`
		TargetID string `json:"target_restaurant_id,omitempty"`
		NewName  string `json:"new_restaurant_name,omitempty"`
		NewID    string `json:"new_restaurant_id,omitempty"`
		Actor    Actor  `json:"actor"`
	}
	CloneJob struct {
		SourceID string `json:"source_restaurant_id"`
		NewName  string `json:"new_restaurant_name"`
		NewID    string `json:"new_restaurant_id"`
		Actor    Actor  `json:"actor"`
	}
	MigrateJob struct {
		BackupID    string `json:"backup_id"`
		Environment string `json:"environment"`
		NewName     string `json:"new_restaurant_name,omitempty"`
		Actor       Actor  `json:"actor"`
	}
	RestoreLatestJob struct {
		RestaurantID string `json:"restaurant_id"`
		Actor        Actor  `json:"actor"`
	}
	CleanupJob struct {
		Keep int `json:"keep"`
	}
	PointInTimeJob struct {
		RestaurantID string    `json:"restaurant_id"`
		At           time.Time `json:"at"`
		Replace      bool      `json:"replace,omitempty"`
		NewName      string    `json:"new_restaurant_name,omitempty"`
		NewID        string    `json:"new_restaurant_id,omitempty"`
		Actor        Actor     `json:"actor"`
	}
)

func decode[T any](run *jobs.Run) (T, error) {
	var v T
	if err := json.Unmarshal(run.Payload, &v); err != nil {
		return v, apperr.Errorf(apperr.Invalid, "malformed job payload: %v", err)
	}
	return v, nil
}

func progressOf(ctx context.Context, run *jobs.Run) Progress {
	return func(p int, msg string) { run.Progress(ctx, p, msg) }
}

// RegisterJobs adds the handlers of every backup job kind to q.
func (s *Service) RegisterJobs(q *jobs.Queue, environments map[string]Environment) {
	q.Register(KindExport, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[ExportJob](run)
		if err != nil {
			return nil, err
		}
		return s.Export(p.Actor.context(ctx), p.RestaurantID, p.Actor.String(), progressOf(ctx, run))
	})
	q.Register(KindImport, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[ImportJob](run)
		if err != nil {
			return nil, err
		}
		return s.Restore(p.Actor.context(ctx), p.BackupID, ImportOptions{TargetID: p.TargetID, NewName: p.NewName, NewID: p.NewID}, progressOf(ctx, run))
	})
	q.Register(KindClone, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[CloneJob](run)
		if err != nil {
			return nil, err
		}
		return s.Clone(p.Actor.context(ctx), p.SourceID, p.NewName, p.Actor.String(), p.NewID, progressOf(ctx, run))
	})
	q.Register(KindMigrate, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[MigrateJob](run)
		if err != nil {
			return nil, err
		}
		env, ok := environments[p.Environment]
		if !ok {
			return nil, apperr.InvalidField("environment", "unknown environment %q", p.Environment)
		}
		return s.Migrate(ctx, p.BackupID, env, p.NewName, progressOf(ctx, run))
	})
	q.Register(KindRestoreLatest, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[RestoreLatestJob](run)
		if err != nil {
			return nil, err
		}
		res, err := s.RestoreNewestValid(p.Actor.context(ctx), p.RestaurantID, progressOf(ctx, run))
		if err != nil {
			return nil, err
		}
		return map[string]any{"backup_id": res.Backup.ID, "restaurant_id": res.Stats.RestaurantID, "rows": res.Stats.Rows, "skipped": res.Skipped}, nil
	})
	q.Register(KindRestorePointInTime, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[PointInTimeJob](run)
		if err != nil {
			return nil, err
		}
		return s.RestorePointInTime(p.Actor.context(ctx), p.RestaurantID,
			PointInTimeOptions{At: p.At, Replace: p.Replace, NewName: p.NewName, NewID: p.NewID}, progressOf(ctx, run))
	})
	q.Register(KindBackupAll, func(ctx context.Context, run *jobs.Run) (any, error) {
		made, err := s.BackupAll(ctx, "schedule", progressOf(ctx, run))
		if err != nil {
			return nil, fmt.Errorf("%d backups made; failures: %w", len(made), err)
		}
		return map[string]any{"backups": made}, nil
	})
	q.Register(KindCleanup, func(ctx context.Context, run *jobs.Run) (any, error) {
		p, err := decode[CleanupJob](run)
		if err != nil {
			return nil, err
		}
		deleted, err := s.Cleanup(ctx, p.Keep)
		if err != nil {
			return nil, err
		}
		return map[string]any{"deleted": deleted}, nil
	})
	q.Register(KindValidateAll, func(ctx context.Context, run *jobs.Run) (any, error) {
		reports, err := s.ValidateAll(ctx, progressOf(ctx, run))
		if err != nil {
			return nil, err
		}
		invalid := 0
		for _, r := range reports {
			if !r.Valid {
				invalid++
				s.log().ErrorContext(ctx, "stored backup is invalid", "backup_id", r.BackupID, "problems", r.Problems)
			}
		}
		if invalid > 0 {
			return nil, fmt.Errorf("%d of %d stored backups are invalid", invalid, len(reports))
		}
		return map[string]any{"validated": len(reports)}, nil
	})
}

// Schedule is the periodic backup work serve runs.
type Schedule struct {
	BackupCron, CleanupCron, ValidateCron string
	Keep                                  int
}

// Periodic returns the schedule as periodic jobs.
func (sc Schedule) Periodic() []jobs.Periodic {
	return []jobs.Periodic{
		{Cron: sc.BackupCron, Kind: KindBackupAll},
		{Cron: sc.CleanupCron, Kind: KindCleanup, Payload: CleanupJob{Keep: sc.Keep}},
		{Cron: sc.ValidateCron, Kind: KindValidateAll},
	}
}

// Crontab is the schedule for installations that prefer cron over serve's
// scheduler (backup setup-rotation).
func (sc Schedule) Crontab(binary, envFile string) string {
	prefix := ""
	if envFile != "" {
		prefix = ". " + envFile + " && "
	}
	return fmt.Sprintf(`# Shimizu Order Suite: tenant backup rotation (times in UTC; set CRON_TZ=UTC where supported).
# Run serve with --backup-schedule=false when cron runs these instead.
CRON_TZ=UTC
%s %s%s backup all >> /var/log/ordersuite-backup.log 2>&1
%s %s%s backup cleanup --keep %d >> /var/log/ordersuite-backup.log 2>&1
%s %s%s backup validate >> /var/log/ordersuite-backup.log 2>&1
`, sc.BackupCron, prefix, binary, sc.CleanupCron, prefix, binary, sc.Keep, sc.ValidateCron, prefix, binary)
}
