package auth

import "context"

// Seen reports whether the state cache holds key by value.
func Seen(s *Service, key string) bool {
	c := s.cache.Load()
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.seen[key]
	return ok
}

// FlushUses writes the noted key uses now.
func FlushUses(ctx context.Context, s *Service) { s.cache.Load().flushUses(ctx) }

// TakeCacheOutOfService makes the state cache not live, as a lost
// notification connection does.
func TakeCacheOutOfService(s *Service) { s.cache.Load().live.Store(false) }
