package httpapi_test

func init() {
	for _, p := range []string{"", "/usage_stats", "/health_metrics", "/events"} {
		resourceFixtures["/admin/tenant_metrics/{id}"+p] = restaurantFixture
	}
}
