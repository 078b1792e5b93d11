package console

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
)

// AdvancedAnalyticsFlag switches a restaurant's analytics page from the
// basic dashboard to the advanced one: the product using its own flags.
const AdvancedAnalyticsFlag = "advanced_analytics"

type analyticsData struct {
	Advanced  bool
	Usage     analytics.Usage
	Health    analytics.Health
	Dashboard analytics.Dashboard
	Now       time.Time
}

func (c *Console) analyticsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := s.ctx(r)
	d := analyticsData{Now: c.DB.Now(), Advanced: c.Flags.Enabled(ctx, AdvancedAnalyticsFlag, "")}
	start, end := analytics.DefaultRange(d.Now)
	var err error
	if d.Usage, err = c.Analytics.UsageStats(ctx, start, end); err != nil {
		return err
	}
	if d.Health, err = c.Analytics.HealthMetrics(ctx); err != nil {
		return err
	}
	title := "Analytics"
	if d.Advanced {
		title = "Advanced analytics"
		if d.Dashboard, err = c.Analytics.Dashboard(ctx); err != nil {
			return err
		}
	}
	c.render(w, r, http.StatusOK, "analytics", &view{Title: title + " · " + s.Restaurant.Name, Section: "analytics", Session: s, Data: d}, nil)
	return nil
}

// Chart geometry, in SVG user units; the SVG scales to its container.
const (
	chartW, chartH = 600, 200
	padL, padB     = 48, 24
	padT, padR     = 10, 8
)

// chart draws a series as an inline SVG bar or line chart, with a text
// alternative (the figures in words) for screen readers.
func chart(kind, label, unit string, points []analytics.Point) template.HTML {
	var b strings.Builder
	maxV := 0.0
	total := 0.0
	for _, p := range points {
		maxV = math.Max(maxV, p.Value)
		total += p.Value
	}
	top := niceCeil(maxV)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	summary := fmt.Sprintf("%s: %d points, highest %s%s", label, len(points), number(maxV), unit)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, chartH, template.HTMLEscapeString(summary))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(summary))
	// Grid lines at 0, ½ and the top, labelled on the left.
	for _, f := range []float64{0, 0.5, 1} {
		y := float64(padT) + plotH*(1-f)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, template.HTMLEscapeString(number(top*f)+unit))
	}
	n := len(points)
	if n > 0 {
		step := plotW / float64(n)
		yOf := func(v float64) float64 { return float64(padT) + plotH*(1-v/top) }
		if kind == "line" {
			var pts []string
			for i, p := range points {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(padL)+step*(float64(i)+0.5), yOf(p.Value)))
			}
			fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
		}
		for i, p := range points {
			x := float64(padL) + step*float64(i)
			tip := template.HTMLEscapeString(fmt.Sprintf("%s: %s%s", stamp(p.At), number(p.Value), unit))
			if kind == "line" {
				fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="3"><title>%s</title></circle>`, x+step/2, yOf(p.Value), tip)
			} else {
				y := yOf(p.Value)
				fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
					x+step*0.15, y, step*0.7, float64(padT)+plotH-y, tip)
			}
		}
		// First and last bucket under the axis.
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%s</text>`, padL, chartH-6, stamp(points[0].At))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-6, stamp(points[n-1].At))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten, so
// the axis labels are round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func number(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// stamp labels a bucket: an hour on its day, or a day.
func stamp(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2 15:04")
}

// centsSeries turns cents into currency units for the revenue chart.
func centsSeries(points []analytics.Point) []analytics.Point {
	out := make([]analytics.Point, len(points))
	for i, p := range points {
		out[i] = analytics.Point{At: p.At, Value: p.Value / 100}
	}
	return out
}

func money(cents int64) string {
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func duration(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d min", int(d.Minutes()))
}

var funcs = template.FuncMap{
	"chart":    chart,
	"cents":    centsSeries,
	"money":    money,
	"bytes":    bytesText,
	"duration": duration,
	"since":    since,
	"describe": describe,
	"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	// json shows an event's data, cut short: the events API has it whole.
	"json": func(b []byte) string {
		if r := []rune(string(b)); len(r) > 160 {
			return string(r[:160]) + "…"
		}
		return string(b)
	},
	"pct": func(p *int) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	},
}
