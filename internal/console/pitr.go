package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// The backup page's point-in-time part: the restaurant's recovery chain,
// a restore to a moment (a job), and what changed between two moments.

// momentLayouts are what a moment field accepts: RFC 3339, or a browser's
// datetime-local value (read as UTC, like every time on the console).
var momentLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05"}

func parseMoment(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, apperr.InvalidField(field, "is required (UTC, e.g. 2026-11-30T14:31:59)")
	}
	for _, l := range momentLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, apperr.InvalidField(field, "is not a moment (UTC, e.g. 2026-11-30T14:31:59)")
}

// pointInTimeData is the page's chain and diff.
type pointInTimeData struct {
	Chain    *backup.RecoveryChain
	Earliest time.Time // the chain's, zero when it has none
	Diff     *backup.Diff
	DiffFrom string
	DiffTo   string
	// Now is a default for the moment fields.
	Now string
}

// pointInTime fills the page's point-in-time part; a diff is read when
// the page was asked for one (from and to in the query).
func (c *Console) pointInTime(r *http.Request, s *session, backups []backup.Backup) (pointInTimeData, error) {
	d := pointInTimeData{Now: time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04:05")}
	chains, err := c.Backups.Chains(r.Context(), s.Restaurant.ID, backups)
	if err != nil {
		return d, err
	}
	if len(chains) > 0 {
		d.Chain = &chains[0]
		if e := chains[0].Earliest; e != nil {
			d.Earliest = *e
		}
	}
	q := r.URL.Query()
	if q.Get("diff_from") == "" && q.Get("diff_to") == "" {
		return d, nil
	}
	d.DiffFrom, d.DiffTo = q.Get("diff_from"), q.Get("diff_to")
	from, err := parseMoment("from", d.DiffFrom)
	if err != nil {
		return d, err
	}
	to, err := parseMoment("to", d.DiffTo)
	if err != nil {
		return d, err
	}
	diff, err := c.Backups.Diff(r.Context(), s.Restaurant.ID, from, to)
	if err != nil {
		return d, err
	}
	d.Diff = &diff
	return d, nil
}

// restorePointInTime starts a restore of this restaurant to a moment, into
// a new restaurant or over itself, as a job.
func (c *Console) restorePointInTime(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.backupsConfigured(); err != nil {
		return err
	}
	at, err := parseMoment("moment", r.PostFormValue("at"))
	if err == nil {
		err = c.Backups.CheckMoment(at) // in the future: shown as a form mistake
	}
	if err != nil {
		return c.backupsFormError(w, r, s, err)
	}
	p := backup.PointInTimeJob{RestaurantID: s.Restaurant.ID, At: at, Actor: actorOf(r, s)}
	var msg string
	switch r.PostFormValue("target") {
	case "this":
		if r.PostFormValue("confirm") != "replace" {
			return c.backupsFormError(w, r, s, apperr.InvalidField("confirm", "tick the box to confirm that %s's current data will be replaced", s.Restaurant.Name))
		}
		p.Replace = true
		msg = fmt.Sprintf("Restoring %s to %s.", s.Restaurant.Name, at.Format(time.RFC3339))
	case "new":
		if p.NewName, err = newName(r, false); err != nil {
			return c.backupsFormError(w, r, s, err)
		}
		if p.NewName == "" {
			p.NewName = fmt.Sprintf("%s at %s", s.Restaurant.Name, at.Format("2006-01-02 15:04:05"))
		}
		p.NewID = store.NewID()
		msg = fmt.Sprintf("Restoring %s as it was at %s, as a new restaurant.", s.Restaurant.Name, at.Format(time.RFC3339))
	default:
		return c.backupsFormError(w, r, s, apperr.InvalidField("restore into", "choose a new restaurant or this one"))
	}
	tenant := s.Restaurant.ID
	if !p.Replace {
		tenant = p.NewID
	}
	job, err := c.enqueue(r, s, backup.KindRestorePointInTime, p, tenant)
	if err != nil {
		return err
	}
	return redirect(w, r, "/console/jobs/"+job.ID, msg)
}
