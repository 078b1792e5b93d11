package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// Receive stores an uploaded archive (a tenant migrated from another
// environment) after validating it. An invalid archive is not stored; its
// report says why. A received archive is stored under its own kind of name
// (tenant_received_<restaurant>_<time of arrival>), so it is never taken
// for one of the restaurant's own backups; its manifest's date is kept for
// the record only.
func (s *Service) Receive(ctx context.Context, r io.Reader) (Backup, Report, error) {
	f, err := s.localCopy(ctx, r)
	if err != nil {
		return Backup{}, Report{}, err
	}
	defer discard(f)
	_, rep, err := s.openChecked(ctx, f)
	if err != nil {
		return Backup{}, rep, err
	}
	s.checkArrival(&rep)
	if rep.Problems == nil {
		rep.Problems = []archive.Problem{}
	}
	if !rep.Valid {
		return Backup{}, rep, nil
	}
	m := rep.Manifest
	now := s.DB.Now().UTC()
	id, err := s.freeID(ctx, OriginReceived, m.RestaurantID, now)
	if err != nil {
		return Backup{}, rep, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Backup{}, rep, err
	}
	// The stored copy keeps the archive's bytes (its manifest names the
	// original export id); the file name is this installation's.
	name := id + ".zip"
	var src io.Reader = f
	if s.Cipher != nil {
		name += ".age"
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.Cipher.Encrypt(pw, f)) }()
		defer pr.Close()
		src = pr
	}
	failed, err := s.put(ctx, name, src)
	if err != nil {
		return Backup{}, rep, fmt.Errorf("backup: store %s: %w", name, err)
	}
	by, reason := receivedBy(ctx)
	prov := Provenance{Origin: OriginReceived, Reason: reason, By: by, At: now,
		Source: &Claimed{ExportID: m.ExportID, ExportedAt: m.ExportedAt, ExportedBy: m.ExportedBy, AppVersion: m.AppVersion}}
	failed = s.storeProvenance(ctx, id, prov, failed)
	st, _ := f.Stat()
	rep.BackupID = id
	s.log().InfoContext(ctx, "archive received", "restaurant_id", m.RestaurantID, "backup_id", id, "by", by, "reason", reason, "source", m.ExportID)
	return Backup{ID: id, RestaurantID: m.RestaurantID, CreatedAt: now.Truncate(time.Second), Size: st.Size(), Encrypted: s.Cipher != nil,
		File: name, Origin: OriginReceived, Provenance: &prov, FailedDestinations: failed}, rep, nil
}

// ValidateFile checks an archive file on disk (backup validate FILE).
func (s *Service) ValidateFile(ctx context.Context, path string) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, apperr.Errorf(apperr.NotFound, "cannot open %s: %v", path, err)
	}
	defer f.Close()
	return s.ValidateReader(ctx, f)
}
