package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestFavicon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/favicon.ico", "/assets/favicon.svg"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(string(body), "<svg") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Get(e.srv.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<link rel="icon" href="/assets/favicon.svg"`) {
		t.Error("pages do not link the icon")
	}
}
