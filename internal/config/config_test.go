package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/shimizu-tech/ordersuite/internal/config"
)

func TestFlagsAndEnvironmentShareNames(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c := config.Register(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if config.EnvName(f.Name) == "" {
			t.Errorf("flag %s has no environment name", f.Name)
		}
	})
	if config.EnvName("database-url") != "DATABASE_URL" {
		t.Fatal(config.EnvName("database-url"))
	}
	t.Setenv("LISTEN_ADDR", "0.0.0.0:9999")
	t.Setenv("LOG_LEVEL", "debug")
	if err := fs.Parse([]string{"--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	if err := config.ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "0.0.0.0:9999" {
		t.Errorf("environment ignored: %s", c.ListenAddr)
	}
	if c.LogLevel != "warn" {
		t.Errorf("the command-line flag should win over the environment: %s", c.LogLevel)
	}
	t.Setenv("AUTO_MIGRATE", "maybe")
	if err := config.ApplyEnv(fs); err == nil {
		t.Error("AUTO_MIGRATE=maybe accepted")
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	c := &config.Config{DataDir: dir}
	s1, err := c.Secret()
	if err != nil || len(s1) < 32 {
		t.Fatalf("generated secret: %q %v", s1, err)
	}
	st, err := os.Stat(filepath.Join(dir, "jwt-secret"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", st, err)
	}
	if s2, _ := c.Secret(); string(s2) != string(s1) {
		t.Error("the generated secret changed between starts")
	}
	pg := &config.Config{DataDir: dir, DatabaseURL: "postgres://x@localhost/db"}
	if _, err := pg.Secret(); err == nil {
		t.Error("PostgreSQL without a configured secret accepted")
	}
	if _, err := (&config.Config{JWTSecret: "short"}).Secret(); err == nil {
		t.Error("a short secret accepted")
	}
}
