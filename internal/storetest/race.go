//go:build race

package storetest

// Race is true when the tests run under the race detector (go test -race),
// which makes the code under test 5–20× slower: load-sized tests use it to
// scale their load down. The race detector sees a data race at any load
// that runs the racing code paths concurrently; the full load runs in the
// pass without it.
const Race = true

// Scaled is a load-sized test's n (rows, requests), a quarter of it under
// the race detector.
func Scaled(n int) int { return max(1, n/4) }
