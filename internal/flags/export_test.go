package flags

// ListenerPID exposes the change listener's PostgreSQL backend to tests,
// which terminate it to prove the listener reconnects.
func (s *Service) ListenerPID() uint32 { return s.listenerPID.Load() }
