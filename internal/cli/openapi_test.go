package cli_test

import (
	"encoding/json"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
)

// TestOpenAPIPrintsTheServedDocument: the command prints, with no database,
// the document GET /api/openapi.json serves, one operation per route.
func TestOpenAPIPrintsTheServedDocument(t *testing.T) {
	parallel(t)
	code, out, errOut := run(t, "openapi")
	if code != 0 {
		t.Fatalf("openapi: exit %d, stderr %s", code, errOut)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not a JSON document: %v\n%.300s", err, out)
	}
	operations := 0
	for _, item := range doc.Paths {
		operations += len(item)
	}
	if routes := len(httpapi.Routes()); doc.OpenAPI == "" || operations != routes {
		t.Fatalf("openapi %q with %d operations, want one per route (%d)", doc.OpenAPI, operations, routes)
	}
}
