package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/flags"
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

// FuzzPlainTargetingKey: where the decoder-free reading of the usual body
// answers, the decoder (with the text checks) answers the same key.
func FuzzPlainTargetingKey(f *testing.F) {
	for _, s := range []string{`{"context":{"targetingKey":"u-1"}}`, ` { "context" : { "targetingKey" : "" } } `,
		"{\"context\":{\"targetingKey\":\"a\tb\"}}", `{"context":{"targetingKey":"a\"b"}}`, `{"Context":{"targetingKey":"x"}}`,
		`{"context":{"targetingKey":"x","targetingKey":"y"}}`, `{"context":{"targetingKey":"x"}}}`, `{"context":{"targetingKey":"x"}} x`,
		`{"context":{"targetingKey":"` + strings.Repeat("k", 257) + `"}}`, "{\"context\":{\"targetingKey\":\"caf\xc3\xa9\"}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		key, ok := plainTargetingKey([]byte(body))
		if !ok {
			return
		}
		want, perr := decodeOFREPContext([]byte(body))
		if perr != nil || want != key {
			t.Fatalf("plain reading %q, decoder %q %+v", key, want, perr)
		}
	})
}

// FuzzOFREPJSON: the hand-written answers are the bytes encoding/json writes.
func FuzzOFREPJSON(f *testing.F) {
	for _, s := range []string{"checkout_rollout", "", `"\<>&`, "\x00\x1f\x7f", "caf\xc3\xa9", "\xff\xfe", "\u2028\u2029", "日本"} {
		f.Add(s, s, "SPLIT", true, true, false)
	}
	f.Fuzz(func(t *testing.T, key, variant, reason string, value, global, abTest bool) {
		var v any = value
		if abTest {
			v = variant
		}
		ok := &ofrepSuccess{Key: key, Value: v, Reason: flags.Reason(reason), Variant: variant, Metadata: ofrepMetadata{Global: global}}
		ferr := &ofrepError{Key: key, ErrorCode: reason, ErrorDetails: variant}
		noKey := &ofrepError{ErrorCode: reason, ErrorDetails: variant}
		for _, c := range []struct {
			got []byte
			v   any
		}{{ok.appendJSON(nil), ok}, {ferr.appendJSON(nil), ferr}, {noKey.appendJSON(nil), noKey}} {
			want, err := json.Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(c.got) != string(want) {
				t.Fatalf("appendJSON = %s, encoding/json = %s", c.got, want)
			}
		}
		// The bulk answer, from evaluation results of every kind.
		results := []flags.Result{
			{Key: key, Found: true, Value: value, Reason: flags.Reason(reason), Global: global},
			{Key: key, Found: true, Value: value, HasVariants: true, Variant: variant, Reason: flags.Reason(reason)},
			{Key: key, Found: true, NeedsEntity: true},
			{Key: key},
		}
		list := []any{}
		for _, res := range results[:len(key)%len(results)+1] {
			if ok, ferr := ofrepResult(res); ferr != nil {
				list = append(list, ferr)
			} else {
				list = append(list, ok)
			}
		}
		want, err := json.Marshal(map[string]any{"flags": list})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendOFREPBulk(nil, results[:len(key)%len(results)+1]); string(got) != string(want) {
			t.Fatalf("appendOFREPBulk = %s, encoding/json = %s", got, want)
		}
		if got := appendOFREPBulk(nil, nil); string(got) != `{"flags":[]}` {
			t.Fatalf("empty bulk %s", got)
		}
	})
}
