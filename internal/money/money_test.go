package money_test

import (
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/money"
)

func TestParseCurrency(t *testing.T) {
	for _, ok := range []string{"USD", "EUR", "JPY", "GBP", "CHF", "BHD", "XOF"} {
		if got, err := money.ParseCurrency(ok); err != nil || got != ok {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "usd", "US", "USDD", "ABC", "XXX", "XAU", "U$D", "ÜSD", "US\x00"} {
		if _, err := money.ParseCurrency(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		minor int64
		code  string
		want  string
	}{
		{2401476, "USD", "$ 24,014.76"}, {5, "USD", "$ 0.05"}, {1200, "JPY", "¥ 1,200"},
		{-250, "EUR", "€ -2.50"}, {1234567, "BHD", "BHD 1,234.567"}, {100, "GBP", "£ 1.00"},
	} {
		if got := money.Format(c.minor, c.code); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.code, got, c.want)
		}
	}
}
