package httpapi_test

import (
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
)

// FuzzParseTimeOrDay: any query value is either a time within the accepted
// years or an "invalid" error naming the field, never a panic.
func FuzzParseTimeOrDay(f *testing.F) {
	for _, s := range []string{"", "2026-11-20", "2026-11-20T10:00:00Z", "2026-02-30", "0001-01-01", "9999-12-31T23:59:59.999999999+14:00", "yesterday"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, v string, endOfDay bool) {
		got, ok, err := httpapi.ParseTimeOrDay("start_date", v, endOfDay)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) || ok {
				t.Fatalf("%q: %v (ok %v)", v, err, ok)
			}
			return
		}
		if ok != (v != "") {
			t.Fatalf("%q: ok %v", v, ok)
		}
		if ok && (got.Year() < 1999 || got.Year() > 10000 || got.Location() != time.UTC) {
			t.Fatalf("%q parsed to %v", v, got)
		}
	})
}
