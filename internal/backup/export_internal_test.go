package backup

import (
	"encoding/json"
	"testing"
)

// TestAppendJSONWritesWhatEncodingJSONWrites: archives keep the bytes
// encoding/json would write, escapes included.
func TestAppendJSONWritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	for _, v := range []any{nil, true, false, int64(0), int64(-42), int64(1) << 62, 3.25, 1e21, 0.000001,
		"", "plain text", `a "quoted" \\ back`, "<b>&amp;</b>", "tab\there\nnewline", "\x00\x1f", "naïve café 日本",
		"\u2028\u2029", "\xff invalid utf-8", "DEL\x7f", "2026-11-30T00:00:00.000000Z"} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSON([]byte("x"), v)
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("%#v: wrote %s, encoding/json writes %s (%v)", v, got[1:], want, err)
		}
	}
}
