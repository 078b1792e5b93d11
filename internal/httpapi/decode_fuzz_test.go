package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// FuzzDecodeJSON: whatever the body, decoding never panics and every
// failure is a caller-facing error (4xx), never an internal one.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.c","role":"staff","password":"x"}`, `{"email": `, `[]`, `null`, `{"role":1}`,
		`{"x":1}`, `{} {}`, `"str"`, `{"email":"\ud800"}`, strings.Repeat("[", 10000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var dst struct {
			Email    *string `json:"email"`
			Role     *string `json:"role"`
			Password *string `json:"password"`
			Count    int     `json:"count"`
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		err := decodeJSON(httptest.NewRecorder(), r, &dst)
		if err == nil {
			return
		}
		code := apperr.CodeOf(err)
		if status := statusOf[code]; status < 400 || status >= 500 {
			t.Fatalf("body %q: error %v maps to %d", body, err, status)
		}
	})
}

func TestDecodeJSONNamesTheField(t *testing.T) {
	t.Parallel()
	var dst struct {
		Nested struct {
			Qty int `json:"qty"`
		} `json:"nested"`
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"nested":{"qty":"three"}}`))
	r.Header.Set("Content-Type", "application/json")
	err := decodeJSON(httptest.NewRecorder(), r, &dst)
	var e *apperr.Error
	if !asError(err, &e) || e.Field != "nested.qty" || statusOf[e.Code] != http.StatusBadRequest {
		t.Fatalf("err = %#v", err)
	}
}

func asError(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	*target = e
	return ok
}
