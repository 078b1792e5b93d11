package jsonenc

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString: the bytes encoding/json writes for any string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\<>&`, "\x00\x1f\x7f\b\f\n\r\t", "caf\xc3\xa9", "\xff\xfe", "\u2028\u2029", "日本", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json = %s", s, got[1:], want)
		}
	})
}
