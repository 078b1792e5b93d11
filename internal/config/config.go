// Package config holds the settings shared by every subcommand. Each setting
// is a command-line flag and an environment variable of the same name
// (--database-url and DATABASE_URL); a flag given on the command line wins.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Config is the resolved configuration.
type Config struct {
	ListenAddr      string
	DatabaseURL     string
	DataDir         string
	JWTSecret       string
	JWTSecretFile   string
	LogLevel        string
	LogFormat       string
	AutoMigrate     bool
	ShutdownTimeout time.Duration
	DemoOnEmpty     bool
	AdminEmail      string
	AdminPassword   string

	// Disaster recovery (docs/disaster-recovery.md).
	BackupDir               string
	BackupLocal             bool
	BackupS3Bucket          string
	BackupS3Endpoint        string
	BackupS3Region          string
	BackupS3Prefix          string
	BackupS3PathStyle       bool
	BackupEncryptionKeyFile string
	BackupSchedule          bool
	BackupCron              string
	BackupCleanupCron       string
	BackupValidateCron      string
	BackupKeep              int
	MigrateEnvironments     string
	// FlagsDevBypass turns every flag on for a super_admin (the seed's
	// development-mode bypass). Never set it in production.
	FlagsDevBypass      bool
	FlagsReloadInterval time.Duration
	FlagsFlushInterval  time.Duration
	EventBufferSize     int
	EventBatchSize      int
	EventFlushInterval  time.Duration
	EventRetention      time.Duration
	EventPruneInterval  time.Duration
	// ChangesShipInterval is how often serve ships the change log to the
	// backup destinations (the RPO when the database is lost).
	ChangesShipInterval time.Duration
	JobLease            time.Duration
	LoginBurstThreshold int
	LoginBurstWindow    time.Duration
}

// Register declares the shared flags on fs and returns the Config they fill.
func Register(fs *pflag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.ListenAddr, "listen-addr", "127.0.0.1:8080", "address the HTTP server listens on")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres://… URL, or a SQLite file path (default <data-dir>/ordersuite.db)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory for the SQLite database, generated secrets and local backups")
	fs.StringVar(&c.JWTSecret, "jwt-secret", "", "HMAC secret for signing tokens (prefer JWT_SECRET or --jwt-secret-file)")
	fs.StringVar(&c.JWTSecretFile, "jwt-secret-file", "", "file holding the token signing secret")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.BoolVar(&c.AutoMigrate, "auto-migrate", true, "apply pending migrations when serve starts")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long serve drains requests on SIGTERM/SIGINT")
	fs.BoolVar(&c.DemoOnEmpty, "demo-on-empty", true, "on the embedded SQLite default, seed demo data when the database is empty")
	fs.StringVar(&c.AdminEmail, "admin-email", "", "e-mail of a super_admin to create at start if none exists")
	fs.StringVar(&c.AdminPassword, "admin-password", "", "password for --admin-email (prefer ADMIN_PASSWORD)")

	fs.StringVar(&c.BackupDir, "backup-dir", "", "local directory for tenant backups (default <data-dir>/backups)")
	fs.BoolVar(&c.BackupLocal, "backup-local", true, "keep backups in --backup-dir (also when an S3 bucket is configured: copies in both)")
	fs.StringVar(&c.BackupS3Bucket, "backup-s3-bucket", "", "S3 bucket for backups (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.BackupS3Endpoint, "backup-s3-endpoint", "", "S3-compatible endpoint URL (empty for AWS)")
	fs.StringVar(&c.BackupS3Region, "backup-s3-region", "us-east-1", "S3 region")
	fs.StringVar(&c.BackupS3Prefix, "backup-s3-prefix", "", "key prefix for backups in the bucket")
	fs.BoolVar(&c.BackupS3PathStyle, "backup-s3-path-style", false, "address the bucket in the URL path (MinIO, Ceph and most non-AWS servers)")
	fs.StringVar(&c.BackupEncryptionKeyFile, "backup-encryption-key-file", "", "file holding the age identity that encrypts backups (or BACKUP_ENCRYPTION_KEY)")
	fs.BoolVar(&c.BackupSchedule, "backup-schedule", true, "serve runs the backup schedule (once across all instances)")
	fs.StringVar(&c.BackupCron, "backup-cron", "0 2 * * *", "when to back up every active tenant (cron, UTC)")
	fs.StringVar(&c.BackupCleanupCron, "backup-cleanup-cron", "0 3 * * 0", "when to delete old backups (cron, UTC)")
	fs.StringVar(&c.BackupValidateCron, "backup-validate-cron", "0 4 1 * *", "when to validate every stored backup (cron, UTC)")
	fs.IntVar(&c.BackupKeep, "backup-keep", 5, "backups kept per tenant by the cleanup")
	fs.StringVar(&c.MigrateEnvironments, "migrate-environments", "", "target environments for tenant migration: name=https://base-url,… (keys from MIGRATE_API_KEY_<NAME>)")
	fs.BoolVar(&c.FlagsDevBypass, "flags-dev-bypass", false, "development only: every feature flag is on for a super_admin")
	fs.DurationVar(&c.FlagsReloadInterval, "flags-reload-interval", 30*time.Second, "how often serve re-reads all feature flags (a safety net under change notifications)")
	fs.DurationVar(&c.FlagsFlushInterval, "flags-flush-interval", time.Minute, "how often serve writes feature flag evaluation counts")
	fs.IntVar(&c.EventBufferSize, "event-buffer-size", 10000, "tenant events held in memory before new ones are dropped (and counted)")
	fs.IntVar(&c.EventBatchSize, "event-batch-size", 500, "most tenant events written by one statement")
	fs.DurationVar(&c.EventFlushInterval, "event-flush-interval", 200*time.Millisecond, "how long the event writer waits for a batch to fill")
	fs.DurationVar(&c.EventRetention, "event-retention", 90*24*time.Hour, "age after which tenant events are pruned (rollups keep the usage figures; at least 48h)")
	fs.DurationVar(&c.EventPruneInterval, "event-prune-interval", time.Hour, "how often serve prunes expired tenant events")
	fs.DurationVar(&c.ChangesShipInterval, "changes-ship-interval", 10*time.Second, "how often serve ships each restaurant's change log to the backup destinations (0 disables; the RPO when the database is lost)")
	fs.DurationVar(&c.JobLease, "job-lease", time.Minute, "how long a running job may go unheard from before it is taken as interrupted (its instance died) and queued again")
	fs.IntVar(&c.LoginBurstThreshold, "login-burst-threshold", 5, "failed logins for one e-mail within --login-burst-window that raise a security_alert (0 disables)")
	fs.DurationVar(&c.LoginBurstWindow, "login-burst-window", 5*time.Minute, "window for --login-burst-threshold")
	return c
}

// EnvName is the environment variable of a flag: --database-url → DATABASE_URL.
func EnvName(flag string) string {
	return strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnv fills every flag not given on the command line from its
// environment variable.
func ApplyEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
		}
	})
	return errors.Join(errs...)
}

// IsPostgres reports whether the configured database is PostgreSQL.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// Database is the database to open: DATABASE_URL, or the embedded default.
func (c *Config) Database() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "ordersuite.db")
}

// Secret returns the token signing secret. On the embedded SQLite default
// without one configured, a random secret is generated once and kept in the
// data directory (mode 0600) so tokens survive a restart. PostgreSQL
// installations usually run several instances, which must share a secret, so
// there it must be configured.
func (c *Config) Secret() ([]byte, error) {
	switch {
	case c.JWTSecret != "":
		return checkSecret([]byte(c.JWTSecret))
	case c.JWTSecretFile != "":
		b, err := os.ReadFile(c.JWTSecretFile)
		if err != nil {
			return nil, fmt.Errorf("config: read jwt secret file: %w", err)
		}
		return checkSecret([]byte(strings.TrimSpace(string(b))))
	case c.IsPostgres():
		return nil, errors.New("config: JWT_SECRET or JWT_SECRET_FILE is required with PostgreSQL (all instances must share it)")
	}
	path := filepath.Join(c.DataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil {
		return checkSecret([]byte(strings.TrimSpace(string(b))))
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("config: create data directory: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("config: store generated jwt secret: %w", err)
	}
	return []byte(secret), nil
}

func checkSecret(b []byte) ([]byte, error) {
	if len(b) < 32 {
		return nil, errors.New("config: the JWT secret must be at least 32 bytes")
	}
	return b, nil
}

// BackupDirectory is where local backups are kept.
func (c *Config) BackupDirectory() string {
	if c.BackupDir != "" {
		return c.BackupDir
	}
	return filepath.Join(c.DataDir, "backups")
}

// BackupEncryptionKey returns the configured age identity, or "" for
// unencrypted backups. Secrets come from the environment or a file only.
func (c *Config) BackupEncryptionKey() (string, error) {
	if c.BackupEncryptionKeyFile != "" {
		b, err := os.ReadFile(c.BackupEncryptionKeyFile)
		if err != nil {
			return "", fmt.Errorf("config: read backup encryption key file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(os.Getenv("BACKUP_ENCRYPTION_KEY")), nil
}

// S3Credentials returns the access key pair for the backup bucket.
func (c *Config) S3Credentials() (accessKey, secretKey string) {
	return os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
}

// Environment is a migration target.
type Environment struct {
	Name    string
	BaseURL string
	APIKey  string
}

// Environments parses --migrate-environments; each key comes from
// MIGRATE_API_KEY_<NAME> (upper case, - as _).
func (c *Config) Environments() (map[string]Environment, error) {
	out := map[string]Environment{}
	for _, part := range strings.Split(c.MigrateEnvironments, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, url, ok := strings.Cut(part, "=")
		name, url = strings.TrimSpace(name), strings.TrimRight(strings.TrimSpace(url), "/")
		if !ok || name == "" || !(strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")) {
			return nil, fmt.Errorf("config: migrate-environments: %q is not name=http(s)://base-url", part)
		}
		out[name] = Environment{Name: name, BaseURL: url, APIKey: os.Getenv("MIGRATE_API_KEY_" + EnvName(name))}
	}
	return out, nil
}

// Logger builds the structured logger the configuration asks for.
func (c *Config) Logger(w *os.File) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("config: log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("config: log-format must be text or json, not %q", c.LogFormat)
}
