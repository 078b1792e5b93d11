package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// decodedStrings lists every string of a decoded JSON value, keys included.
func decodedStrings(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case []any:
		for _, e := range x {
			decodedStrings(e, out)
		}
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			decodedStrings(e, out)
		}
	}
}

// FuzzCheckJSONText: whatever the document, the scan never panics; a
// document it lets through decodes to strings that are valid UTF-8 without
// NUL and without a U+FFFD the document did not spell; and anything it
// refuses is a 400 that names a field.
func FuzzCheckJSONText(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a\u0000b"}`, `{"name":"ok"}`, "{\"name\":\"\xff\"}", `{"a":["x","\ud800"]}`,
		`{"a":"\ud83d\ude00"}`, `{"a":"\ude00"}`, `{"a\u0000":1}`, `[1,{"b":[null,"\u0000"]}]`,
		`{"a":"\\u0000"}`, `{"a":"\ufffd"}`, `{"a":`, `"\u00`, `{"a":"x\"\u0000"}`, strings.Repeat("[", 300),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := checkJSONText(doc)
		if err != nil {
			e, ok := err.(*apperr.Error)
			if !ok || e.Code != apperr.Invalid || e.Field == "" {
				t.Fatalf("%q: refused with %#v, want invalid naming a field", doc, err)
			}
			return
		}
		var v any
		if json.Unmarshal(doc, &v) != nil {
			return // malformed: the decoder refuses it
		}
		var all []string
		decodedStrings(v, &all)
		spelled := strings.Count(string(doc), "\ufffd") + strings.Count(strings.ToLower(string(doc)), `\ufffd`)
		replaced := 0
		for _, s := range all {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("%q passed, but decodes to %q", doc, s)
			}
			replaced += strings.Count(s, "\ufffd")
		}
		if replaced > spelled {
			t.Fatalf("%q passed, but decoding replaced %d characters with U+FFFD", doc, replaced-spelled)
		}
	})
}

// FuzzRequestText: whatever a path parameter, query string or tenant
// header holds, checking it never panics, and what passes is text.
func FuzzRequestText(f *testing.F) {
	f.Add("abc", "status=N%00UL", "01234567-89AB-CDEF-0123-456789ABCDEF")
	f.Add("a\x00b", "q=%FF", "\xff")
	f.Add("01234567-89AB-CDEF-0123-456789ABCDEF", "a=1&a=%00", "")
	f.Fuzz(func(t *testing.T, id, rawQuery, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = rawQuery
		r.SetPathValue("id", id)
		r.Header.Set(TenantHeader, header)
		err := checkRequestText(Route{Method: "GET", Pattern: "/x/{id}"}, r)
		if err != nil {
			if e, ok := err.(*apperr.Error); !ok || e.Code != apperr.Invalid || e.Field == "" {
				t.Fatalf("refused with %#v", err)
			}
			return
		}
		check := func(what, s string) {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("%s %q passed", what, s)
			}
		}
		check("path", r.PathValue("id"))
		check("header", r.Header.Get(TenantHeader))
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for k, vs := range q {
			check("query name", k)
			for _, v := range vs {
				check("query value", v)
			}
		}
	})
}
