package events

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// FuzzRequestDataJSON: the api_request payload's own encoding is byte for
// byte what encoding/json writes for the same struct, whatever the path.
func FuzzRequestDataJSON(f *testing.F) {
	for _, s := range []string{"/api/v1/me", "", `"\<>&`, "\x00\x1f\x7f", "caf\xc3\xa9", "\xff\xfe", "\u2028\u2029", "日本"} {
		f.Add(s, "/api/v1/orders/{id}", "GET", int64(3), 200, "u1")
	}
	f.Fuzz(func(t *testing.T, path, route, method string, ms int64, status int, user string) {
		d := RequestData{Path: path, Route: route, Method: method, DurationMS: ms, Status: status, UserID: user}
		type plain RequestData // without the MarshalJSON method
		want, err := json.Marshal(plain(d))
		if err != nil {
			t.Fatal(err)
		}
		if got := d.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON = %s, encoding/json = %s", got, want)
		}
		if got, _ := json.Marshal(d); string(got) != string(want) {
			t.Fatalf("json.Marshal = %s, want %s", got, want)
		}
		// The figures handed to the rollups are what they would parse.
		if fig := d.figures(); fig != nil {
			var parsed store.RequestFigures
			if err := json.Unmarshal(want, &parsed); err != nil {
				t.Fatal(err)
			}
			if *fig != parsed {
				t.Fatalf("figures %+v, parsed %+v", *fig, parsed)
			}
		} else if utf8.ValidString(route+method+user) && printable(route) && printable(method) && printable(user) {
			t.Fatal("no figures for printable strings")
		}
	})
}
