package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Config locates an S3-compatible bucket (AWS, MinIO, Ceph, R2 …).
type S3Config struct {
	Endpoint  string // empty for AWS itself
	Region    string
	Bucket    string
	Prefix    string // key prefix, e.g. "ordersuite/backups"
	AccessKey string
	SecretKey string
	// PathStyle addresses the bucket in the path (most non-AWS servers).
	PathStyle bool
}

// S3 keeps archives as objects in a bucket.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string
	label  string
}

// NewS3 connects to a bucket. Credentials are taken as given (from the
// environment by the caller) and never appear in messages.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("backup: S3 bucket is required")
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	awsCfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})
	prefix := strings.Trim(cfg.Prefix, "/")
	label := "s3://" + cfg.Bucket
	if prefix != "" {
		label += "/" + prefix
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: prefix, label: label}, nil
}

func (s *S3) String() string { return s.label }

func (s *S3) key(name string) string {
	if s.prefix == "" {
		return name
	}
	return path.Join(s.prefix, name)
}

// Put uploads an archive. The SDK signs a known length, so a stream is
// first spooled to a temporary file.
func (s *S3) Put(ctx context.Context, name string, r io.Reader) error {
	if !validName(name) {
		return fmt.Errorf("backup: invalid archive name %q", name)
	}
	f, ok := r.(*os.File)
	if !ok {
		tmp, err := os.CreateTemp("", "ordersuite-s3-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		f = tmp
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.key(name)), Body: f,
		ContentLength: aws.Int64(st.Size() - pos), ContentType: aws.String("application/zip"),
	})
	if err != nil {
		return fmt.Errorf("backup: upload to %s: %w", s.label, err)
	}
	return nil
}

func (s *S3) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if !validName(name) {
		return nil, ErrNotStored
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, ErrNotStored
	}
	if err != nil {
		return nil, fmt.Errorf("backup: download from %s: %w", s.label, err)
	}
	return out.Body, nil
}

func (s *S3) List(ctx context.Context) ([]Object, error) {
	var out []Object
	prefix := ""
	if s.prefix != "" {
		prefix = s.prefix + "/"
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("backup: list %s: %w", s.label, err)
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if strings.Contains(name, "/") || !validName(name) {
				continue
			}
			obj := Object{Name: name, Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				obj.ModTime = o.LastModified.UTC()
			}
			out = append(out, obj)
		}
	}
	return out, nil
}

func (s *S3) Delete(ctx context.Context, name string) error {
	if !validName(name) {
		return ErrNotStored
	}
	// S3 deletes are idempotent; look first so a missing backup is reported.
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))}); err != nil {
		var nf *types.NotFound
		if errors.As(err, &nf) {
			return ErrNotStored
		}
		return fmt.Errorf("backup: delete from %s: %w", s.label, err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(name))})
	if err != nil {
		return fmt.Errorf("backup: delete from %s: %w", s.label, err)
	}
	return nil
}
