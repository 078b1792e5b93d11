package analytics

import (
	"math"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// This file is the one place each figure is defined; docs/metrics.md
// states the same definitions for people. Every report (health, usage,
// comparison, the overview, the console) reads its figures through these
// functions, from the hourly rollups.

// Requests is the number of api_request events.
func Requests(s store.RollupStats) int64 { return s.Counts["api_request"] }

// ServerErrors is the number of api_request events answered with a status
// of 500 or more. error events are not counted: a 5xx answer records both
// an api_request and an error event, and only the request is the answer.
func ServerErrors(s store.RollupStats) int64 { return s.ServerErrors }

// ErrorRate is ServerErrors as a percentage of Requests, rounded to 2
// decimals; 0 without requests.
func ErrorRate(s store.RollupStats) float64 {
	n := Requests(s)
	if n == 0 {
		return 0
	}
	return round2(float64(ServerErrors(s)) * 100 / float64(n))
}

// MeanDurationMS is the mean api_request duration in milliseconds (whole
// milliseconds as recorded), rounded to 2 decimals; 0 without requests.
func MeanDurationMS(s store.RollupStats) float64 { return mean(s.DurationMSSum, Requests(s)) }

// DurationPercentileMS is the q-quantile (0 < q < 1) of api_request
// durations in milliseconds, estimated from the rollups' fixed buckets as
// Prometheus's histogram_quantile does: find the bucket holding rank q·n,
// interpolate linearly between its bounds (0 below the first); a rank in
// the open-ended bucket reads as the highest finite bound. 0 without
// requests. Rounded to whole milliseconds.
func DurationPercentileMS(s store.RollupStats, q float64) float64 {
	var n int64
	for _, c := range s.DurationHistogram {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var below int64
	for i, c := range s.DurationHistogram {
		if float64(below+c) < rank || c == 0 {
			below += c
			continue
		}
		if i == len(store.DurationBucketsMS) {
			return float64(store.DurationBucketsMS[i-1])
		}
		lower := 0.0
		if i > 0 {
			lower = float64(store.DurationBucketsMS[i-1])
		}
		upper := float64(store.DurationBucketsMS[i])
		return math.Round(lower + (upper-lower)*(rank-float64(below))/float64(c))
	}
	return float64(store.DurationBucketsMS[len(store.DurationBucketsMS)-1])
}

// Window is the range a "last d" figure covers: the hours overlapping
// [now-d, now], i.e. from the start of the hour that held now-d up to now,
// the current hour included as far as it has gone. Rollups are hourly, so a
// window is always whole hours; the same window is used by every report.
func Window(now time.Time, d time.Duration) (from, to time.Time) {
	return store.HourRange(now.Add(-d), now.Add(time.Microsecond))
}

// Day is the UTC calendar day of t.
func Day(t time.Time) time.Time { return day(t) }

func mean(sum, n int64) float64 {
	if n == 0 {
		return 0
	}
	return round2(float64(sum) / float64(n))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
