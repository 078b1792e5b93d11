package cli_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeMountsConsole: the served binary answers the console's sign-in
// page and its embedded stylesheet beside the API.
func TestServeMountsConsole(t *testing.T) {
	parallel(t)
	srv := startServe(t, migratedDBArgs(t))
	for _, c := range []struct{ path, ctype, want string }{
		{"/console/login", "text/html", `action="/console/login"`},
		{"/assets/console.css", "text/css", "focus-visible"},
	} {
		resp, err := http.Get(srv.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
