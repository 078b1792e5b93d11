// Package archivetest rewrites archives for tests that play a forger.
package archivetest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// Redate rewrites an archive's manifest to claim another export time (and
// the export id that goes with it), leaving every table file as it was.
func Redate(tb testing.TB, zipped []byte, at time.Time) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		if f.Name == archive.ManifestName {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				tb.Fatal(err)
			}
			m["exported_at"] = at.Format(time.RFC3339Nano)
			m["export_id"] = archive.ExportID(m["restaurant_id"].(string), at)
			if data, err = json.Marshal(m); err != nil {
				tb.Fatal(err)
			}
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
