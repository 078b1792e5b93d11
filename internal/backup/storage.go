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
	id, ext := splitName(name)
	_, _, _, ok := parseID(id)
	return ok && ext != ""
}

// splitName separates a stored file name into its id and its extension
// (an archive, encrypted or not, or the provenance beside it).
func splitName(name string) (id, ext string) {
	for _, e := range []string{".zip.age", ".zip", provenanceExt} {
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
// "multiple backup copies in different locations"). Each destination fails
// alone: a write succeeds when one copy was written, reads and listings use
// whatever destinations answer. What failed is returned as a
// *DestinationErrors; when its Succeeded is above zero the operation's
// result (a listing, a reader) is returned with it and is good, so the
// caller can both use it and report the failures. Service does that in one
// place (service's put, get, list, remove).
type Mirror []Storage

// DestinationFailure is one destination that did not answer.
type DestinationFailure struct {
	// Destination is a bounded label ("local", "s3"), safe for metrics.
	Destination string `json:"destination"`
	// Location names it for people (a directory, a bucket; no secrets).
	Location string `json:"location"`
	Op       string `json:"op"`
	Error    string `json:"error"`

	err error
}

func (f DestinationFailure) String() string {
	return fmt.Sprintf("%s %s: %s", f.Op, f.Location, f.Error)
}

// DestinationErrors is what a Mirror returns when some destination failed.
// Succeeded counts those that answered: when it is zero the operation
// failed; otherwise its result is good and the failures are for reporting.
type DestinationErrors struct {
	Failures  []DestinationFailure
	Succeeded int
}

// Unwrap lets errors.Is see each destination's own error (a cancelled
// context, ErrNotStored).
func (e *DestinationErrors) Unwrap() []error {
	out := make([]error, 0, len(e.Failures))
	for _, f := range e.Failures {
		if f.err != nil {
			out = append(out, f.err)
		}
	}
	return out
}

func (e *DestinationErrors) Error() string {
	msgs := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		msgs[i] = f.String()
	}
	return strings.Join(msgs, "; ")
}

// DestinationLabel names a destination's kind for metrics: a bounded set,
// no paths or bucket names.
func DestinationLabel(s Storage) string {
	switch s.(type) {
	case Dir:
		return "local"
	case *S3:
		return "s3"
	}
	return "other"
}

func (m Mirror) failure(s Storage, op string, err error) DestinationFailure {
	return DestinationFailure{Destination: DestinationLabel(s), Location: s.String(), Op: op, Error: err.Error(), err: err}
}

// result is nil when no destination failed, else *DestinationErrors.
func (m Mirror) result(fails []DestinationFailure) error {
	if len(fails) == 0 {
		return nil
	}
	return &DestinationErrors{Failures: fails, Succeeded: len(m) - len(fails)}
}

func (m Mirror) String() string {
	names := make([]string, len(m))
	for i, s := range m {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// Put writes to every destination from one local file.
func (m Mirror) Put(ctx context.Context, name string, r io.Reader) error {
	if len(m) == 1 {
		if err := m[0].Put(ctx, name, r); err != nil {
			return &DestinationErrors{Failures: []DestinationFailure{m.failure(m[0], "put", err)}}
		}
		return nil
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
	var fails []DestinationFailure
	for _, s := range m {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := s.Put(ctx, name, tmp); err != nil {
			fails = append(fails, m.failure(s, "put", err))
		}
	}
	return m.result(fails)
}

// Get reads from the first destination that has the archive; the
// destinations that failed before it are reported beside the reader.
func (m Mirror) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	var fails []DestinationFailure
	for _, s := range m {
		rc, err := s.Get(ctx, name)
		if err == nil {
			if len(fails) > 0 {
				return rc, &DestinationErrors{Failures: fails, Succeeded: 1}
			}
			return rc, nil
		}
		if !errors.Is(err, ErrNotStored) {
			fails = append(fails, m.failure(s, "get", err))
		}
	}
	if len(fails) == 0 {
		return nil, ErrNotStored
	}
	// Missing where it answered, unreachable elsewhere: not known to be gone.
	return nil, &DestinationErrors{Failures: fails}
}

// List is the union of what every destination that answered holds.
func (m Mirror) List(ctx context.Context) ([]Object, error) {
	seen := map[string]Object{}
	var fails []DestinationFailure
	for _, s := range m {
		objs, err := s.List(ctx)
		if err != nil {
			fails = append(fails, m.failure(s, "list", err))
			continue
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
	return out, m.result(fails)
}

// Delete removes the archive wherever it is; a destination that cannot be
// reached keeps its copy and is reported.
func (m Mirror) Delete(ctx context.Context, name string) error {
	found := false
	var fails []DestinationFailure
	for _, s := range m {
		err := s.Delete(ctx, name)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotStored):
			fails = append(fails, m.failure(s, "delete", err))
		}
	}
	if len(fails) > 0 {
		e := &DestinationErrors{Failures: fails}
		if found {
			e.Succeeded = 1
		}
		return e
	}
	if !found {
		return ErrNotStored
	}
	return nil
}
