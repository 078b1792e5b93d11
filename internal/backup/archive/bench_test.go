package archive_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// eventsArchive is a restaurant with n events, as an export writes it.
func eventsArchive(b *testing.B, n int) []byte {
	rid := "01960000-0000-7000-8000-00000000000a"
	files := map[string][]byte{
		"restaurants": []byte(`[{"id":"` + rid + `","name":"Bench","prefix":"BN","status":"active","tokens_valid_after":null,` +
			`"created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z"}]`),
	}
	var buf bytes.Buffer
	buf.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, "\n"+`{"restaurant_id":"%s","id":"01960000-0000-7000-8000-%012d","event_type":"api_request",`+
			`"event_data":"{\"path\":\"/api/v1/orders\",\"method\":\"GET\",\"duration_ms\":%d,\"status\":200}","created_at":"2026-01-01T00:00:00.000000Z"}`,
			rid, i, i%97)
	}
	buf.WriteString("\n]\n")
	files["tenant_events"] = buf.Bytes()
	m := archive.Manifest{ExportID: archive.ExportID(rid, mustTime()), FormatVersion: 1, SchemaVersion: 1, RestaurantID: rid,
		ExportedAt: mustTime(), Tables: map[string]archive.TableEntry{}, TableOrder: []string{"restaurants", "tenant_events"}}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, t := range m.TableOrder {
		sum := sha256.Sum256(files[t])
		count := int64(1)
		if t == "tenant_events" {
			count = int64(n)
		}
		m.Tables[t] = archive.TableEntry{File: t + ".json", Count: count, SHA256: hex.EncodeToString(sum[:])}
		w, _ := zw.Create(t + ".json")
		w.Write(files[t])
	}
	w, _ := zw.Create(archive.ManifestName)
	json.NewEncoder(w).Encode(m)
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

func eventsSchema(b *testing.B) archive.Schema {
	check := func(s string) archive.Check {
		c, err := archive.ParseCheck(s)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	return archive.Schema{Tables: []string{"restaurants", "tenant_events"}, Version: 1, Catalog: map[string]archive.Table{
		"restaurants": {Columns: []archive.Column{{Name: "id", Kind: archive.KindUUID, NotNull: true}, {Name: "name", Kind: archive.KindText, NotNull: true},
			{Name: "prefix", Kind: archive.KindText, NotNull: true}, {Name: "status", Kind: archive.KindText, NotNull: true, HasDefault: true, Default: "active"},
			{Name: "tokens_valid_after", Kind: archive.KindTime}, {Name: "created_at", Kind: archive.KindTime, NotNull: true},
			{Name: "updated_at", Kind: archive.KindTime, NotNull: true}},
			Checks:  []archive.Check{check("(status IN ('active', 'read_only', 'suspended'))")},
			Uniques: [][]string{{"id"}}, Indexes: [][]string{{"id"}}},
		"tenant_events": {Columns: []archive.Column{{Name: "restaurant_id", Kind: archive.KindUUID, NotNull: true},
			{Name: "id", Kind: archive.KindUUID, NotNull: true}, {Name: "event_type", Kind: archive.KindText, NotNull: true},
			{Name: "event_data", Kind: archive.KindJSON, NotNull: true}, {Name: "created_at", Kind: archive.KindTime, NotNull: true}},
			Checks:  []archive.Check{check("(event_type IN ('user_login', 'order_created', 'payment_processed', 'api_request', 'error', 'security_alert'))")},
			Uniques: [][]string{{"restaurant_id", "id"}},
			Indexes: [][]string{{"restaurant_id", "id"}, {"restaurant_id", "event_type", "created_at"}, {"restaurant_id", "created_at"}}},
	}}
}

// BenchmarkValidate: rows/s and peak heap of validating 200k events, with
// the row checks (the catalog) and with the structure alone.
func BenchmarkValidate(b *testing.B) {
	const n = 200000
	data := eventsArchive(b, n)
	full := eventsSchema(b)
	structural := archive.Schema{Tables: full.Tables, Version: full.Version}
	for _, c := range []struct {
		name   string
		schema archive.Schema
	}{{"structure", structural}, {"rows", full}} {
		b.Run(c.name, func(b *testing.B) {
			var peak uint64
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				a, ps := archive.Open(bytes.NewReader(data), int64(len(data)), archive.DefaultLimits)
				if a == nil {
					b.Fatal(ps)
				}
				if ps := a.Validate(context.Background(), c.schema); len(ps) > 0 {
					b.Fatal(ps)
				}
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				peak = max(peak, after.HeapInuse)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "heap_MiB")
		})
	}
}

func mustTime() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
