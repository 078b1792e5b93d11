package console

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
)

// TestChartAxisReadsTheRealScale: the value axis has round ticks, as many
// decimals as they need and the unit, whatever the range: a 0.04 % peak is
// not drawn under "0.0 % / 0.0 % / 0 %".
func TestChartAxisReadsTheRealScale(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	series := func(vals ...float64) []analytics.Point {
		var out []analytics.Point
		for i, v := range vals {
			out = append(out, analytics.Point{At: at.Add(time.Duration(i) * time.Hour), Value: v})
		}
		return out
	}
	label := regexp.MustCompile(`<text class="axis" x="\d+" y="[\d.]+" text-anchor="end">([^<]*)</text>`)
	for _, c := range []struct {
		vals []float64
		unit string
		want string
	}{
		{[]float64{0, 0.04, 0, 0.01}, "%", "0.00 %|0.01 %|0.02 %|0.03 %|0.04 %"},
		{[]float64{0, 3.2, 1}, "%", "0 %|1 %|2 %|3 %|4 %"},
		{[]float64{0, 100}, "%", "0 %|50 %|100 %"},
		{[]float64{12, 1840, 7}, "", "0|500|1,000|1,500|2,000"},
		{[]float64{0, 1, 0}, "", "0|1"},
		{[]float64{0, 0}, "", "0|1"},
		{[]float64{0, 0.37}, "EUR", "0.0 EUR|0.1 EUR|0.2 EUR|0.3 EUR|0.4 EUR"},
	} {
		svg := string(chart("line", "x", c.unit, series(c.vals...)))
		var got []string
		for _, m := range label.FindAllStringSubmatch(svg, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, "|") != c.want {
			t.Errorf("%v %s: axis %q, want %q", c.vals, c.unit, strings.Join(got, "|"), c.want)
		}
	}
}
