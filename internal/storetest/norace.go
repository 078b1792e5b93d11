//go:build !race

package storetest

// Race is true when the tests run under the race detector; see race.go.
const Race = false

// Scaled is a load-sized test's n (rows, requests), a quarter of it under
// the race detector.
func Scaled(n int) int { return n }
