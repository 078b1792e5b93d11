package backup

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
)

// Change segments live beside the archives, in every destination, under
// changes/<restaurant_id>/<number>.jsonl.gz (".age" added when encrypted):
// a folder of their own, so archive listings never see them and a
// restaurant's segments are listed without the others'.

// segmentStore is one destination's segments, as raw stored bytes.
type segmentStore interface {
	putSegment(ctx context.Context, name string, data []byte) error
	getSegment(ctx context.Context, name string) ([]byte, error)
	// listSegments returns the file names in a restaurant's folder, or,
	// with restaurantID empty, the restaurants' folders.
	listSegments(ctx context.Context, restaurantID string) ([]string, error)
	deleteSegment(ctx context.Context, name string) error
}

func (d Dir) putSegment(_ context.Context, name string, data []byte) error {
	full := filepath.Join(d.Path, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		return err
	}
	// Written under a temporary name and renamed: a segment is whole or absent.
	tmp, err := os.CreateTemp(filepath.Dir(full), ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), full)
}

func (d Dir) getSegment(_ context.Context, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(d.Path, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, changelog.ErrMissing
	}
	return b, err
}

func (d Dir) listSegments(_ context.Context, restaurantID string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(d.Path, "changes", restaurantID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() == (restaurantID == "") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (d Dir) deleteSegment(_ context.Context, name string) error {
	err := os.Remove(filepath.Join(d.Path, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return changelog.ErrMissing
	}
	return err
}

func (s *S3) putSegment(ctx context.Context, name string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.key(name)), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("application/gzip"),
	})
	if err != nil {
		return fmt.Errorf("backup: upload to %s: %w", s.label, err)
	}
	return nil
}

func (s *S3) getSegment(ctx context.Context, name string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, changelog.ErrMissing
	}
	if err != nil {
		return nil, fmt.Errorf("backup: download from %s: %w", s.label, err)
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, changelog.DefaultLimits.MaxBytes))
}

func (s *S3) listSegments(ctx context.Context, restaurantID string) ([]string, error) {
	prefix := s.key("changes") + "/"
	if restaurantID != "" {
		prefix += restaurantID + "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)}
	if restaurantID == "" {
		in.Delimiter = aws.String("/")
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("backup: list %s: %w", s.label, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, strings.Trim(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"))
		}
		for _, o := range page.Contents {
			if name := strings.TrimPrefix(aws.ToString(o.Key), prefix); !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

func (s *S3) deleteSegment(ctx context.Context, name string) error {
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))}); err != nil {
		var nf *types.NotFound
		if errors.As(err, &nf) {
			return changelog.ErrMissing
		}
		return fmt.Errorf("backup: delete from %s: %w", s.label, err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))})
	return err
}

// segmentObjects keeps segments in every destination of a Mirror, each
// failing alone like archives do, encrypted with the archive Cipher when one
// is configured.
type segmentObjects struct {
	s *Service
}

// ChangeObjects is where the change log's segments are stored: the same
// destinations as the archives.
func (s *Service) ChangeObjects() changelog.Objects { return segmentObjects{s} }

func (o segmentObjects) stores() ([]segmentStore, []Storage, error) {
	var out []segmentStore
	var dests []Storage
	for _, d := range o.s.destinations() {
		ss, ok := d.(segmentStore)
		if !ok {
			return nil, nil, fmt.Errorf("backup: destination %s cannot keep change segments", d)
		}
		out, dests = append(out, ss), append(dests, d)
	}
	return out, dests, nil
}

func (o segmentObjects) name(restaurantID string, number int64) (string, error) {
	if !changelog.ValidRestaurantID(restaurantID) {
		return "", fmt.Errorf("backup: invalid restaurant id %q", restaurantID)
	}
	return changelog.SegmentName(restaurantID, number), nil
}

// report turns per-destination failures into the Mirror's error, tolerated
// (logged, counted) when some destination succeeded.
func (o segmentObjects) report(ctx context.Context, dests []Storage, op string, errs []error) error {
	var fails []DestinationFailure
	for i, err := range errs {
		if err != nil {
			fails = append(fails, Mirror(dests).failure(dests[i], op, err))
		}
	}
	_, err := o.s.tolerate(ctx, Mirror(dests).result(fails))
	return err
}

func (o segmentObjects) PutSegment(ctx context.Context, restaurantID string, number int64, data []byte) error {
	name, err := o.name(restaurantID, number)
	if err != nil {
		return err
	}
	stores, dests, err := o.stores()
	if err != nil {
		return err
	}
	if c := o.s.Cipher; c != nil {
		var buf bytes.Buffer
		if err := c.Encrypt(&buf, bytes.NewReader(data)); err != nil {
			return err
		}
		data, name = buf.Bytes(), name+".age"
	}
	errs := make([]error, len(stores))
	for i, ss := range stores {
		errs[i] = ss.putSegment(ctx, name, data)
	}
	return o.report(ctx, dests, "put", errs)
}

func (o segmentObjects) GetSegment(ctx context.Context, restaurantID string, number int64) ([]byte, error) {
	name, err := o.name(restaurantID, number)
	if err != nil {
		return nil, err
	}
	stores, dests, err := o.stores()
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, ss := range stores {
		for _, n := range []string{name + ".age", name} {
			b, err := ss.getSegment(ctx, n)
			if errors.Is(err, changelog.ErrMissing) {
				continue
			}
			if err != nil {
				errs = append(errs, Mirror(dests).failure(dests[i], "get", err).err)
				break
			}
			return o.open(b)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, changelog.ErrMissing
}

// open decrypts a stored segment when it is encrypted.
func (o segmentObjects) open(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte(ageHeader)) {
		return b, nil
	}
	if o.s.Cipher == nil {
		return nil, fmt.Errorf("the segment is encrypted and no BACKUP_ENCRYPTION_KEY is configured")
	}
	r, err := o.s.Cipher.Decrypt(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, changelog.DefaultLimits.MaxBytes))
}

func (o segmentObjects) ListSegments(ctx context.Context, restaurantID string) ([]int64, error) {
	if _, err := o.name(restaurantID, 1); err != nil {
		return nil, err
	}
	return listUnion(ctx, o, restaurantID, changelog.ParseSegmentFile)
}

// listUnion lists dir (a restaurant's folder, or "" for the restaurants) in
// every destination and returns the union of the names parse accepts,
// sorted; a destination that cannot be listed is reported like any other.
func listUnion[T cmp.Ordered](ctx context.Context, o segmentObjects, dir string, parse func(string) (T, bool)) ([]T, error) {
	stores, dests, err := o.stores()
	if err != nil {
		return nil, err
	}
	seen := map[T]bool{}
	errs := make([]error, len(stores))
	for i, ss := range stores {
		names, err := ss.listSegments(ctx, dir)
		errs[i] = err
		for _, n := range names {
			if v, ok := parse(n); ok {
				seen[v] = true
			}
		}
	}
	if err := o.report(ctx, dests, "list", errs); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

func (o segmentObjects) DeleteSegment(ctx context.Context, restaurantID string, number int64) error {
	name, err := o.name(restaurantID, number)
	if err != nil {
		return err
	}
	stores, dests, err := o.stores()
	if err != nil {
		return err
	}
	errs := make([]error, len(stores))
	for i, ss := range stores {
		for _, n := range []string{name + ".age", name} {
			if err := ss.deleteSegment(ctx, n); err != nil && !errors.Is(err, changelog.ErrMissing) {
				errs[i] = err
			}
		}
	}
	return o.report(ctx, dests, "delete", errs)
}

func (o segmentObjects) ChainRestaurants(ctx context.Context) ([]string, error) {
	return listUnion(ctx, o, "", func(n string) (string, bool) { return n, changelog.ValidRestaurantID(n) })
}

// shipMarkName is the small file the shipper rewrites after each run that
// shipped every restaurant up to its cut.
const shipMarkName = "changes/shipped.json"

func (o segmentObjects) PutShipMark(ctx context.Context, data []byte) error {
	stores, dests, err := o.stores()
	if err != nil {
		return err
	}
	errs := make([]error, len(stores))
	for i, ss := range stores {
		errs[i] = ss.putSegment(ctx, shipMarkName, data)
	}
	return o.report(ctx, dests, "put", errs)
}

func (o segmentObjects) GetShipMark(ctx context.Context) ([]byte, error) {
	stores, _, err := o.stores()
	if err != nil {
		return nil, err
	}
	var newest []byte
	var errs []error
	for _, ss := range stores {
		b, err := ss.getSegment(ctx, shipMarkName)
		if errors.Is(err, changelog.ErrMissing) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if newest == nil || changelog.NewerMark(b, newest) {
			newest = b
		}
	}
	if newest != nil {
		return newest, nil
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, changelog.ErrMissing
}
