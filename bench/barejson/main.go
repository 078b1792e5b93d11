// Command barejson is the ceiling the API's hot paths are compared with: a
// bare net/http server answering every request with a small JSON object.
//
//	go run ./barejson 127.0.0.1:18190
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:18190"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"key": "checkout_rollout", "value": true, "reason": "SPLIT", "variant": "on"})
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
