package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

var figureSeeds = []string{
	`{"duration_ms":123,"method":"GET","path":"/api/v1/orders/0192","route":"/api/v1/orders/{id}","status":200,"user_id":"u1"}`,
	`{}`, ` { } `, `{"status":500}`, `{"status":"500"}`, `{"status":true}`, `{"status":null}`, `{"status":1,"status":null}`,
	`{"status":1,"status":2}`, `{"Status":503}`, `{"status":200,"STATUS":503}`, `{"ſtatus":503}`, `{"route":"/a\"b"}`,
	`{"route":"/caf\u00e9"}`, "{\"route\":\"/café\"}", `{"route":123}`, `{"user_id":["a"]}`, `{"x":{"status":500}}`,
	`{"status":1e400}`, `{"status":-0}`, `{"status":01}`, `{"status":1.}`, `{"status":.5}`, `{"status":1e}`, `{"status":-}`,
	`{"status":2.5e2}`, `{"duration_ms":-12.75}`, `{"status":500,}`, `{"status":500} x`, `{"status":500}}`, `[1,2]`, `"s"`, ``,
	`null`, `{"status":tru}`, `{"status":nul}`, `{"a":false,"status":404}`, "{\"route\":\"a\tb\"}", `{"route":"a\u0000b"}`,
	`{"status" : 500 , "route" : "r" }`, "\n{\"status\":\n500}\n", `{"status":500`, `{"status"500}`, `{status:500}`,
	`{"duration_ms":123456789012345678901234567890}`, `{"method":"","route":""}`, `{"user_id":"x","user_id":null}`,
	`{"STATUS":1,"status":2}`, `{"ROUTE":"a"}`, `{"k":"v\\"}`,
}

func checkFigures(t *testing.T, doc string) {
	t.Helper()
	var want RequestFigures
	_ = json.Unmarshal([]byte(doc), &want)
	if got := readFigures([]byte(doc)); got != want {
		t.Errorf("%q: read %+v, json.Unmarshal %+v", doc, got, want)
	}
}

// TestReadFiguresIsUnmarshal: the scanner the event writer reads payloads
// with gives what json.Unmarshal gives, for tricky payloads and for random
// flat objects of the kinds producers write.
func TestReadFiguresIsUnmarshal(t *testing.T) {
	for _, doc := range figureSeeds {
		checkFigures(t, doc)
	}
	r := rand.New(rand.NewPCG(3, 5))
	keys := []string{"duration_ms", "status", "user_id", "route", "method", "path", "Status", "ip", "error_type"}
	values := []string{`200`, `500`, `-1`, `0`, `12.5`, `3e2`, `"GET"`, `"/api/v1/x"`, `""`, `true`, `false`, `null`, `"u-1"`, `[1]`, `{"a":1}`, `"a\"b"`}
	for i := 0; i < 5000; i++ {
		var parts []string
		for k := r.IntN(7); k > 0; k-- {
			parts = append(parts, fmt.Sprintf(`%q:%s`, keys[r.IntN(len(keys))], values[r.IntN(len(values))]))
		}
		doc := "{" + strings.Join(parts, ",") + "}"
		if r.IntN(10) == 0 && len(doc) > 2 {
			cut := r.IntN(len(doc))
			doc = doc[:cut] + doc[cut+1:] // often no longer JSON
		}
		checkFigures(t, doc)
	}
}

func FuzzReadFigures(f *testing.F) {
	for _, doc := range figureSeeds {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) { checkFigures(t, doc) })
}

func BenchmarkReadFigures(b *testing.B) {
	doc := []byte(figureSeeds[0])
	b.Run("scanner", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = readFigures(doc)
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var f RequestFigures
			_ = json.Unmarshal(doc, &f)
		}
	})
}
