package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// MaxClockSkew is how far in the future an arriving archive's exported_at
// may lie: the two installations' clocks disagree a little, never by more.
// A later date would make a forged archive the "newest" of its restaurant.
const MaxClockSkew = 5 * time.Minute

// Origin says whether this installation made a stored archive.
type Origin string

const (
	// OriginBackup is an archive this installation exported itself: the
	// only kind restore latest, cleanup and the schedule count.
	OriginBackup Origin = "backup"
	// OriginReceived is an archive that arrived from outside (an upload or
	// another environment's migration); it is used only when named by id.
	OriginReceived Origin = "received"
)

// Reason says why an archive was stored.
type Reason string

const (
	ReasonScheduled Reason = "scheduled" // backup all, by serve's schedule or cron
	ReasonManual    Reason = "manual"    // one restaurant, asked for by a person
	ReasonDrill     Reason = "drill"     // a recovery drill's backup
	ReasonUpload    Reason = "upload"    // an archive posted by an operator
	ReasonMigration Reason = "migration" // an archive posted with a migration API key
)

// Provenance is where a stored archive came from, written by this
// installation beside the archive (never taken from the archive itself).
type Provenance struct {
	Origin Origin `json:"origin"`
	Reason Reason `json:"reason"`
	// By is who stored it: an actor ("super_admin:<id>"), "schedule", "cli".
	By string `json:"by"`
	// At is this installation's clock when the archive was stored.
	At time.Time `json:"at"`
	// Source is what a received archive's manifest claims about itself,
	// kept for the record only.
	Source *Claimed `json:"source,omitempty"`
}

// Claimed is a received archive's own account of itself.
type Claimed struct {
	ExportID   string    `json:"export_id"`
	ExportedAt time.Time `json:"exported_at"`
	ExportedBy string    `json:"exported_by"`
	AppVersion string    `json:"app_version"`
}

// receivedIDPattern names received archives: tenant_received_<restaurant
// id>_<this installation's time of arrival>. The distinct prefix keeps them
// apart from own backups even when the database and every provenance file
// are lost.
var receivedIDPattern = regexp.MustCompile(`^tenant_received_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([0-9]{14})(_[0-9]{1,4})?$`)

func receivedID(restaurantID string, at time.Time) string {
	return "tenant_received_" + restaurantID + "_" + at.UTC().Format("20060102150405")
}

// parseID returns the restaurant, the time (always this installation's)
// and the origin a stored archive's id names.
func parseID(id string) (restaurantID string, at time.Time, origin Origin, ok bool) {
	if rid, at, ok := archive.ParseExportID(id); ok {
		return rid, at, OriginBackup, true
	}
	m := receivedIDPattern.FindStringSubmatch(id)
	if m == nil {
		return "", time.Time{}, "", false
	}
	t, err := time.Parse("20060102150405", m[2])
	if err != nil {
		return "", time.Time{}, "", false
	}
	return m[1], t.UTC(), OriginReceived, true
}

// provenanceExt ends the name of the small JSON file beside each archive.
const provenanceExt = ".origin.json"

func (s *Service) writeProvenance(ctx context.Context, id string, p Provenance) ([]DestinationFailure, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return s.put(ctx, id+provenanceExt, bytes.NewReader(body))
}

// Describe fills in the provenance of each backup from the files beside
// them. An archive without one (stored before provenance was recorded, or
// its file lost) keeps the origin its name gives.
func (s *Service) Describe(ctx context.Context, list []Backup) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func(b *Backup) {
			defer wg.Done()
			defer func() { <-sem }()
			rc, err := s.get(ctx, b.ID+provenanceExt)
			if err != nil {
				return
			}
			defer rc.Close()
			var p Provenance
			if err := json.NewDecoder(io.LimitReader(rc, 64<<10)).Decode(&p); err != nil {
				s.log().WarnContext(ctx, "unreadable provenance", "backup_id", b.ID, "err", err)
				return
			}
			// The name is what restores and cleanup trust; a provenance file
			// cannot turn a received archive into an own backup.
			p.Origin = b.Origin
			b.Provenance = &p
		}(&list[i])
	}
	wg.Wait()
}

// checkArrival refuses an archive dated in the future: its exported_at
// would otherwise sort it above every genuine backup.
func (s *Service) checkArrival(rep *Report) {
	if rep.Manifest == nil || rep.Manifest.ExportedAt.IsZero() {
		return
	}
	now := s.DB.Now()
	if at := rep.Manifest.ExportedAt; at.After(now.Add(MaxClockSkew)) {
		rep.Problems = append(rep.Problems, archive.Problem{File: archive.ManifestName,
			Message: fmt.Sprintf("exported_at %s is in the future (this installation's time is %s; at most %s of clock skew is allowed)",
				at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), MaxClockSkew)})
		rep.Valid = false
	}
}

// receivedBy describes who posted an archive and why.
func receivedBy(ctx context.Context) (string, Reason) {
	p, _ := tenancy.PrincipalFrom(ctx)
	if auth.IsAPIKey(p) {
		return ActorOf(ctx).String(), ReasonMigration
	}
	return ActorOf(ctx).String(), ReasonUpload
}
