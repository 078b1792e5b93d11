package httpapi_test

// eventLogTables record every request a tenant makes, refused ones included,
// so snapshots that prove a request changed nothing leave them out.
var eventLogTables = map[string]bool{"tenant_events": true, "tenant_event_rollups": true, "tenant_route_rollups": true, "tenant_daily_users": true}

func init() {
	for _, p := range []string{"", "/usage_stats", "/health_metrics", "/events"} {
		resourceFixtures["/admin/tenant_metrics/{id}"+p] = restaurantFixture
	}
}
