package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/money"
	"github.com/shimizu-tech/ordersuite/internal/store"
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
	// Currency is the restaurant's, for every amount on the page.
	Currency string
	// Events is one page of the recent-events table, Older the link to the
	// next page (empty on the last one), Paged whether this is not the first.
	Events []eventRow
	Older  string
	Paged  bool
}

// eventRow is one event as the recent-events table shows it: who did what,
// in words, with the raw JSON behind a toggle.
type eventRow struct {
	At   time.Time
	Type string
	Who  string
	What string
	Raw  string
}

// eventFields are the payload fields the table reads, across event types.
type eventFields struct {
	Route       string   `json:"route"`
	Path        string   `json:"path"`
	Method      string   `json:"method"`
	Status      *float64 `json:"status"`
	DurationMS  *float64 `json:"duration_ms"`
	UserID      string   `json:"user_id"`
	Email       string   `json:"email"`
	OrderNumber string   `json:"order_number"`
	OrderID     string   `json:"order_id"`
	TotalCents  *int64   `json:"total_amount_cents"`
	AmountCents *int64   `json:"amount_cents"`
	Method2     string   `json:"payment_method"`
	ErrorType   string   `json:"error_type"`
	Alert       string   `json:"alert"`
	Failures    *int64   `json:"failures"`
	IP          string   `json:"ip"`
}

// readable describes an event in a line: route and status for a request,
// order number and amount for an order, and so on.
func readable(e store.TenantEvent, currency string) eventRow {
	row := eventRow{At: e.CreatedAt, Type: e.Type, Raw: string(e.Data)}
	var f eventFields
	_ = json.Unmarshal(e.Data, &f) // a payload that is not an object still shows raw
	row.Who = f.Email
	if row.Who == "" && f.UserID != "" {
		row.Who = "user " + short(f.UserID)
	}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch e.Type {
	case "api_request":
		route := f.Route
		if route == "" {
			route = f.Path
		}
		add("%s %s", f.Method, route)
		if f.Status != nil {
			add("→ %.0f", *f.Status)
		}
		if f.DurationMS != nil {
			add("in %.0f ms", *f.DurationMS)
		}
	case "order_created":
		if f.OrderNumber != "" {
			add("order %s", f.OrderNumber)
		} else if f.OrderID != "" {
			add("order %s", short(f.OrderID))
		}
		if f.TotalCents != nil {
			add("%s", money.Format(*f.TotalCents, currency))
		}
	case "payment_processed":
		if f.AmountCents != nil {
			add("%s", money.Format(*f.AmountCents, currency))
		}
		if f.Method2 != "" {
			add("by %s", f.Method2)
		}
		if f.OrderID != "" {
			add("for order %s", short(f.OrderID))
		}
	case "error":
		add("%s", f.ErrorType)
		if f.Status != nil {
			add("(%.0f)", *f.Status)
		}
		if f.Route != "" {
			add("on %s %s", f.Method, f.Route)
		}
	case "security_alert":
		add("%s", strings.ReplaceAll(f.Alert, "_", " "))
		if f.Failures != nil {
			add("after %d failures", *f.Failures)
		}
		if f.IP != "" {
			add("from %s", f.IP)
		}
	case "user_login":
		add("signed in")
	}
	row.What = strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
	return row
}

// short is the first block of an id, enough to tell ids apart on a screen.
func short(id string) string {
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

// eventCursor reads the events table's paging parameters: before (an
// RFC 3339 time) and before_id, both or neither.
func eventCursor(r *http.Request) (store.EventCursor, error) {
	q := r.URL.Query()
	at, id := q.Get("before"), q.Get("before_id")
	if at == "" && id == "" {
		return store.EventCursor{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return store.EventCursor{}, apperr.InvalidField("before", "must be an RFC 3339 time")
	}
	if !store.ValidID(id) {
		return store.EventCursor{}, apperr.InvalidField("before_id", "must be an event id")
	}
	return store.EventCursor{At: t, ID: id}, nil
}

func (c *Console) analyticsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := s.ctx(r)
	d := analyticsData{Now: c.DB.Now(), Advanced: c.Flags.Enabled(ctx, AdvancedAnalyticsFlag, ""), Currency: s.Restaurant.Currency}
	cursor, err := eventCursor(r)
	if err != nil {
		return err
	}
	start, end := analytics.DefaultRange(d.Now)
	if d.Usage, err = c.Analytics.UsageStats(ctx, start, end); err != nil {
		return err
	}
	d.Currency = d.Usage.Orders.Currency
	if d.Health, err = c.Analytics.HealthMetrics(ctx); err != nil {
		return err
	}
	title := "Analytics"
	if d.Advanced {
		title = "Advanced analytics"
		if d.Dashboard, err = c.Analytics.Dashboard(ctx); err != nil {
			return err
		}
		recent, next := d.Dashboard.Recent, d.Dashboard.Next
		if !cursor.At.IsZero() {
			if recent, next, err = c.DB.RecentEvents(ctx, "", cursor, analytics.RecentEventsPage); err != nil {
				return err
			}
			d.Paged = true
		}
		for _, e := range recent {
			d.Events = append(d.Events, readable(e, d.Currency))
		}
		if !next.At.IsZero() {
			d.Older = fmt.Sprintf("?before=%s&before_id=%s#recent", url.QueryEscape(next.At.Format(time.RFC3339Nano)), url.QueryEscape(next.ID))
		}
	}
	c.render(w, r, http.StatusOK, "analytics", &view{Title: title + " · " + s.Restaurant.Name, Section: "analytics", Session: s, Data: d}, nil)
	return nil
}

// Chart geometry, in SVG user units; the SVG scales to its container.
const (
	chartW, chartH = 600, 200
	padL, padB     = 72, 24
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
	top, step := axis(maxV)
	if counts(points) && step < 1 {
		// Counts come in whole numbers: no 0.5 order on the axis.
		top, step = math.Max(1, math.Ceil(top)), 1
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	summary := fmt.Sprintf("%s: %d points, highest %s", label, len(points), withUnit(number(maxV, step/10), unit))
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, chartH, template.HTMLEscapeString(summary))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(summary))
	// A grid line at each tick, labelled on the left with as many decimals
	// as the step needs, and the unit.
	for k := 0; float64(k)*step <= top+step/2; k++ {
		v := float64(k) * step
		y := float64(padT) + plotH*(1-v/top)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, template.HTMLEscapeString(withUnit(number(v, step), unit)))
	}
	n := len(points)
	if n > 0 {
		slot := plotW / float64(n)
		yOf := func(v float64) float64 { return float64(padT) + plotH*(1-v/top) }
		if kind == "line" {
			var pts []string
			for i, p := range points {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(padL)+slot*(float64(i)+0.5), yOf(p.Value)))
			}
			fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
		}
		for i, p := range points {
			x := float64(padL) + slot*float64(i)
			tip := template.HTMLEscapeString(fmt.Sprintf("%s: %s", stamp(p.At), withUnit(number(p.Value, step/10), unit)))
			if kind == "line" {
				fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="3"><title>%s</title></circle>`, x+slot/2, yOf(p.Value), tip)
			} else {
				y := yOf(p.Value)
				fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
					x+slot*0.15, y, slot*0.7, float64(padT)+plotH-y, tip)
			}
		}
		// Time ticks under the axis: every 6 hours of an hourly series, every
		// 7 days of a daily one, each under its bucket.
		every := 6
		if n > 1 && points[1].At.Sub(points[0].At) >= 24*time.Hour {
			every = 7
		}
		for i := n - 1; i >= 0; i -= every {
			x := float64(padL) + slot*(float64(i)+0.5)
			fmt.Fprintf(&b, `<line class="tick" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x, x, float64(padT)+plotH, float64(padT)+plotH+4)
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, chartH-6, tickStamp(points[i].At))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// counts tells whether every value of a series is a whole number.
func counts(points []analytics.Point) bool {
	for _, p := range points {
		if p.Value != math.Trunc(p.Value) {
			return false
		}
	}
	return true
}

// axis picks a chart's value axis for a series whose highest value is
// maxV: a round step (1, 2 or 5 times a power of ten, about a quarter of the
// range) and the top, the first multiple of the step at or above maxV. A
// percentage axis whose line peaks at 0.04 % reads 0 / 0.01 / … / 0.04 %, not
// 0.0 / 0.0 / 0 %.
func axis(maxV float64) (top, step float64) {
	if maxV <= 0 {
		return 1, 0.25
	}
	step = niceCeil(maxV / 4)
	top = step * math.Ceil(maxV/step-1e-9)
	return top, step
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// number writes v with the decimals a resolution of step needs (none for
// whole steps), grouped in thousands.
func number(v, step float64) string {
	decimals := 0
	if step > 0 && step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if decimals > 6 {
		decimals = 6
	}
	return message.NewPrinter(language.English).Sprintf("%.*f", decimals, v)
}

func withUnit(v, unit string) string {
	switch unit {
	case "":
		return v
	case "%":
		return v + " %"
	}
	return v + " " + unit
}

// tickStamp labels a time tick: the hour, or the day at midnight.
func tickStamp(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.Format("Jan 2")
	}
	return t.Format("15:04")
}

// stamp labels a bucket: an hour on its day, or a day.
func stamp(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2 15:04")
}

// centsSeries turns minor units into the currency's main unit for the
// revenue chart.
func centsSeries(points []analytics.Point, currency string) []analytics.Point {
	out := make([]analytics.Point, len(points))
	for i, p := range points {
		out[i] = analytics.Point{At: p.At, Value: money.Major(int64(p.Value), currency)}
	}
	return out
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
	"money":    money.Format,
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
