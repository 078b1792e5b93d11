package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzOFREPContext: any body gets a targeting key or a protocol error,
// never a panic, and a returned key is bounded text.
func FuzzOFREPContext(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"context":{"targetingKey":"u-1"}}`, `{"context":null}`,
		`{"context":"x"}`, `{"context":{"targetingKey":5}}`, `[1]`, `{"context":{"targetingKey":"\u00e9"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags", strings.NewReader(body))
		key, perr := ofrepContext(httptest.NewRecorder(), r)
		if perr != nil {
			if key != "" || (perr.ErrorCode != "PARSE_ERROR" && perr.ErrorCode != "INVALID_CONTEXT") {
				t.Fatalf("error %+v with key %q", perr, key)
			}
			return
		}
		if key != "" {
			enc, _ := json.Marshal(key)
			var back string
			if json.Unmarshal(enc, &back) != nil || back != key || len(key) > 256 {
				t.Fatalf("returned key %q", key)
			}
		}
	})
}

// FuzzPercentage: accepted values are exactly the integers 0–100.
func FuzzPercentage(f *testing.F) {
	for _, s := range []string{`0`, `100`, `101`, `-1`, `12.5`, `"50"`, `1e2`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parsePercentage(json.RawMessage(raw))
		if err == nil && (p < 0 || p > 100) {
			t.Fatalf("%s accepted as %d", raw, p)
		}
	})
}
