package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// Object is one stored archive.
type Object struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// Storage keeps archive files under flat names.
type Storage interface {
	// String names the destination for logs and messages (no secrets).
	String() string
	Put(ctx context.Context, name string, r io.Reader) error
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	List(ctx context.Context) ([]Object, error)
	Delete(ctx context.Context, name string) error
}

// ErrNotStored is returned by Get and Delete for an unknown name.
var ErrNotStored = apperr.Errorf(apperr.NotFound, "backup not found")

// validName keeps a name a plain file name: archive names are generated, and
// one from a request never reaches a path unchecked.
func validName(name string) bool {
	id, _ := splitName(name)
	_, _, ok := archive.ParseExportID(id)
	return ok
}

// splitName separates an archive file name into its id and its extension.
func splitName(name string) (id, ext string) {
	for _, e := range []string{".zip.age", ".zip"} {
		if strings.HasSuffix(name, e) {
			return strings.TrimSuffix(name, e), e
		}
	}
	return name, ""
}

// Dir keeps archives in a local directory.
type Dir struct{ Path string }

func (d Dir) String() string { return "dir:" + d.Path }

func (d Dir) Put(ctx context.Context, name string, r io.Reader) error {
	if !validName(name) {
		return fmt.Errorf("backup: invalid archive name %q", name)
	}
	if err := os.MkdirAll(d.Path, 0o750); err != nil {
		return fmt.Errorf("backup: create %s: %w", d.Path, err)
	}
	// Written under a temporary name and renamed, so a listing never shows
	// half an archive.
	tmp, err := os.CreateTemp(d.Path, ".partial-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("backup: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(d.Path, name))
}

func (d Dir) Get(_ context.Context, name string) (io.ReadCloser, error) {
	if !validName(name) {
		return nil, ErrNotStored
	}
	f, err := os.Open(filepath.Join(d.Path, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotStored
	}
	return f, err
}

func (d Dir) List(context.Context) ([]Object, error) {
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, e := range entries {
		if e.IsDir() || !validName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Object{Name: e.Name(), Size: info.Size(), ModTime: info.ModTime().UTC()})
	}
	return out, nil
}

func (d Dir) Delete(_ context.Context, name string) error {
	if !validName(name) {
		return ErrNotStored
	}
	err := os.Remove(filepath.Join(d.Path, name))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotStored
	}
	return err
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Mirror keeps a copy of every archive in each destination (the seed's
// "multiple backup copies in different locations"). Reads use the first
// destination that has the archive; a listing is the union.
type Mirror []Storage

func (m Mirror) String() string {
	names := make([]string, len(m))
	for i, s := range m {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// Put writes to every destination from one local file; it fails when any
// destination fails, so an operator hears about a missing copy.
func (m Mirror) Put(ctx context.Context, name string, r io.Reader) error {
	if len(m) == 1 {
		return m[0].Put(ctx, name, r)
	}
	tmp, err := os.CreateTemp("", "ordersuite-mirror-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		return err
	}
	var errs []error
	for _, s := range m {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := s.Put(ctx, name, tmp); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

func (m Mirror) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	var last error = ErrNotStored
	for _, s := range m {
		rc, err := s.Get(ctx, name)
		if err == nil {
			return rc, nil
		}
		last = err
	}
	return nil, last
}

func (m Mirror) List(ctx context.Context) ([]Object, error) {
	seen := map[string]Object{}
	for _, s := range m {
		objs, err := s.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		for _, o := range objs {
			if _, ok := seen[o.Name]; !ok {
				seen[o.Name] = o
			}
		}
	}
	out := make([]Object, 0, len(seen))
	for _, o := range seen {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m Mirror) Delete(ctx context.Context, name string) error {
	found := false
	var errs []error
	for _, s := range m {
		err := s.Delete(ctx, name)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotStored):
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !found {
		return ErrNotStored
	}
	return nil
}
