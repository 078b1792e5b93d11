package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestRestaurantCurrency: a restaurant starts in USD; its admin sets an ISO
// 4217 currency with PATCH; a code that is no currency answers 400 naming
// the field; usage_stats writes the order total in the currency, and the
// tenant's currency series follows.
func TestRestaurantCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.token(e.A.Users[tenancy.Admin])
	path := "/api/v1/restaurants/" + e.A.R.ID
	res := e.do("GET", path, admin, nil)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"currency":"USD"`) {
		t.Fatalf("new restaurant: %d %s", res.Status, res.Body)
	}
	for _, bad := range []any{"usd", "ABC", "XXX", "EURO", "", 978, nil} {
		res := e.do("PATCH", path, admin, map[string]any{"currency": bad})
		if bad == nil {
			continue // an absent field changes nothing
		}
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"currency"`) {
			t.Errorf("currency %v: %d %s", bad, res.Status, res.Body)
		}
	}
	res = e.do("PATCH", path, admin, map[string]any{"currency": "JPY"})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"currency":"JPY"`) {
		t.Fatalf("set JPY: %d %s", res.Status, res.Body)
	}
	res = e.do("GET", "/admin/tenant_metrics/"+e.A.R.ID+"/usage_stats", admin, nil)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"currency":"JPY"`) || !strings.Contains(string(res.Body), `"total_amount":"¥ 0"`) {
		t.Errorf("usage in yen: %d %s", res.Status, res.Body)
	}
	if got := testutil.ToFloat64(e.metrics.TenantCurrency.WithLabelValues(e.A.R.ID, "JPY")); got != 1 {
		t.Errorf("tenant_currency_info{currency=JPY} = %v", got)
	}
	// Staff may not change it.
	if res := e.do("PATCH", path, e.token(e.A.Users[tenancy.Staff]), map[string]any{"currency": "EUR"}); res.Status != http.StatusForbidden {
		t.Errorf("staff PATCH currency: %d", res.Status)
	}
}
