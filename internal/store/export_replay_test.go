package store

// ReplayFallbacks is how many set-based replays fell back to replaying
// change by change.
func ReplayFallbacks() int64 { return replayFallbacks.Load() }
