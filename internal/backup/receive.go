package backup

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// Receive stores an uploaded archive (a tenant migrated from another
// environment) after validating it. An invalid archive is not stored; its
// report says why.
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
	if rep.Problems == nil {
		rep.Problems = []archive.Problem{}
	}
	if !rep.Valid {
		return Backup{}, rep, nil
	}
	m := rep.Manifest
	id, err := s.freeID(ctx, m.RestaurantID, m.ExportedAt)
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
	if err := s.Storage.Put(ctx, name, src); err != nil {
		return Backup{}, rep, fmt.Errorf("backup: store %s: %w", name, err)
	}
	st, _ := f.Stat()
	rep.BackupID = id
	return Backup{ID: id, RestaurantID: m.RestaurantID, CreatedAt: m.ExportedAt.Truncate(1e9), Size: st.Size(), Encrypted: s.Cipher != nil, File: name}, rep, nil
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
