// Package money knows currencies: which ISO 4217 codes a restaurant may use,
// and how an amount kept in a currency's minor unit (the *_cents columns:
// cents for USD, yen for JPY, fils for BHD) reads to people.
package money

import (
	"errors"
	"math"
	"slices"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// DefaultCurrency is a restaurant's currency until its admin sets one.
const DefaultCurrency = "USD"

// notMoney are ISO 4217 codes that name no currency a restaurant is paid in:
// testing and "no currency" codes, precious metals, bond-market units.
var notMoney = []string{"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD"}

// ErrCurrency is the reason an invalid code is refused.
var ErrCurrency = errors.New("must be an ISO 4217 currency code such as USD, EUR or JPY")

// ParseCurrency checks an ISO 4217 code (three capital letters, a currency
// in circulation) and returns it.
func ParseCurrency(code string) (string, error) {
	if len(code) != 3 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' || code[2] < 'A' || code[2] > 'Z' {
		return "", ErrCurrency
	}
	u, err := currency.ParseISO(code)
	if err != nil || u.String() != code || slices.Contains(notMoney, code) {
		return "", ErrCurrency
	}
	return code, nil
}

func unit(code string) currency.Unit {
	u, err := currency.ParseISO(code)
	if err != nil {
		return currency.USD
	}
	return u
}

// Major converts an amount in minor units to the currency's main unit
// (1999 cents → 19.99 USD; 1999 yen → 1999 JPY).
func Major(minor int64, code string) float64 {
	scale, _ := currency.Standard.Rounding(unit(code))
	return float64(minor) / math.Pow10(scale)
}

// Format writes an amount in minor units for people: symbol, grouped
// digits and the currency's decimals ("$ 24,014.76", "¥ 1,200").
func Format(minor int64, code string) string {
	u := unit(code)
	return message.NewPrinter(language.English).Sprint(currency.Symbol(u.Amount(Major(minor, code))))
}
