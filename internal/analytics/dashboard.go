package analytics

import (
	"context"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Point is one bucket of a series: an hour or a day, and its value.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// RouteFigures is one route's traffic over the dashboard's last 24 hours.
type RouteFigures struct {
	Method       string  `json:"method"`
	Route        string  `json:"route"`
	Requests     int64   `json:"requests"`
	ServerErrors int64   `json:"server_errors"`
	MeanMS       float64 `json:"mean_ms"`
}

// Dashboard is what the advanced analytics page draws: hourly request and
// error rates over the last 24 hours, daily orders and revenue over the last
// days, the 95th percentile of response times, the busiest routes and the
// newest events.
type Dashboard struct {
	Since24h time.Time `json:"since_24h"`
	// Requests and ErrorRate (percent answered 5xx) per hour of the 24-hour
	// Window (25 points: the current hour and the 24 before), oldest first;
	// hours without traffic are 0.
	Requests  []Point `json:"requests_per_hour"`
	ErrorRate []Point `json:"error_rate_per_hour"`
	// Orders and RevenueCents per UTC day, oldest first, one point a day.
	Orders       []Point        `json:"orders_per_day"`
	RevenueCents []Point        `json:"revenue_cents_per_day"`
	P95MS        float64        `json:"p95_ms"`
	P99MS        float64        `json:"p99_ms"`
	Requests24h  int64          `json:"requests_24h"`
	TopRoutes    []RouteFigures `json:"top_routes"`
	Recent       []store.TenantEvent
	// Next is the cursor of the page of events after Recent.
	Next store.EventCursor
}

// RecentEventsPage is how many events a page of the recent-events table
// shows.
const RecentEventsPage = 20

// DashboardDays is how many days of orders and revenue the dashboard shows.
const DashboardDays = 30

// Dashboard computes the advanced dashboard of the tenant in ctx.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	now := s.DB.Now()
	since, until := Window(now, 24*time.Hour)
	d := Dashboard{Since24h: since}
	rollups, err := s.DB.EventRollups(ctx, since, until)
	if err != nil {
		return d, err
	}
	reqs := map[time.Time]store.RollupBucket{}
	for _, b := range rollups {
		if b.Type == "api_request" {
			reqs[b.Bucket] = b
		}
	}
	for h := since; h.Before(until); h = h.Add(time.Hour) {
		b := reqs[h]
		rate := ErrorRate(store.RollupStats{Counts: map[string]int64{"api_request": b.Count}, ServerErrors: b.ServerErrors})
		d.Requests = append(d.Requests, Point{At: h, Value: float64(b.Count)})
		d.ErrorRate = append(d.ErrorRate, Point{At: h, Value: rate})
	}

	today := day(now)
	first := today.AddDate(0, 0, -(DashboardDays - 1))
	orders, err := s.DB.OrdersByDay(ctx, first, today.AddDate(0, 0, 1))
	if err != nil {
		return d, err
	}
	byDay := map[string]store.DayOrders{}
	for _, o := range orders {
		byDay[o.Day] = o
	}
	for t := first; !t.After(today); t = t.AddDate(0, 0, 1) {
		o := byDay[t.Format(time.DateOnly)]
		d.Orders = append(d.Orders, Point{At: t, Value: float64(o.Count)})
		d.RevenueCents = append(d.RevenueCents, Point{At: t, Value: float64(o.TotalCents)})
	}

	st, err := s.DB.EventStats(ctx, since, until)
	if err != nil {
		return d, err
	}
	d.Requests24h, d.P95MS, d.P99MS = Requests(st), DurationPercentileMS(st, 0.95), DurationPercentileMS(st, 0.99)
	routes, err := s.DB.TopRoutes(ctx, since, until, 10)
	if err != nil {
		return d, err
	}
	d.TopRoutes = []RouteFigures{}
	for _, r := range routes {
		d.TopRoutes = append(d.TopRoutes, RouteFigures{Method: r.Method, Route: r.Route, Requests: r.Count,
			ServerErrors: r.ServerErrors, MeanMS: mean(r.DurationMSSum, r.Count)})
	}
	if d.Recent, d.Next, err = s.DB.RecentEvents(ctx, "", store.EventCursor{}, RecentEventsPage); err != nil {
		return d, err
	}
	return d, nil
}
