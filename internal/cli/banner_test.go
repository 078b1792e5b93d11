package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestBaseURL: the start banner's curl hint names the address the server
// really listens on.
func TestBaseURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":9090":          "http://localhost:9090",
		"0.0.0.0:3000":   "http://localhost:3000",
		"[::]:3000":      "http://localhost:3000",
		"[::1]:7000":     "http://[::1]:7000",
		"10.0.0.5:80":    "http://10.0.0.5:80",
	} {
		if got := baseURL(addr); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestCLIRefusesBadText: an argument that is not UTF-8 text stops the
// command before it touches the database.
func TestCLIRefusesBadText(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	code := Execute(context.Background(), []string{"restore", "clone", "01a2a000-0000-7000-8000-000000000000", "Bad \xff name",
		"--database-url", filepath.Join(t.TempDir(), "x.db")}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "not valid UTF-8") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
