package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestStructuralTenancy holds every table of the migrated schema to the
// tenancy rules, so a table added later cannot slip through.
func TestStructuralTenancy(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	tables, err := db.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, table := range tables {
		seen[table.Name] = true
		isTenant := slices.Contains(store.TenantTables, table.Name)
		_, isPlatform := store.PlatformTables[table.Name]
		switch {
		case isTenant && isPlatform:
			t.Errorf("%s is listed both as a tenant and as a platform table", table.Name)
		case !isTenant && !isPlatform:
			t.Errorf("table %s is in neither store.TenantTables nor store.PlatformTables", table.Name)
		case isTenant:
			t.Run(table.Name, func(t *testing.T) { checkTenantTable(t, table) })
		}
	}
	for _, name := range store.TenantTables {
		if !seen[name] {
			t.Errorf("store.TenantTables names %s, which the schema lacks", name)
		}
	}
}

func checkTenantTable(t *testing.T, table store.TableInfo) {
	if notNull, ok := table.Columns["restaurant_id"]; !ok || !notNull {
		t.Errorf("restaurant_id must exist and be NOT NULL (exists=%v, not null=%v)", ok, notNull)
	}
	if !slices.Equal(table.PrimaryKey, []string{"restaurant_id", "id"}) {
		t.Errorf("primary key is (%s), want (restaurant_id, id)", strings.Join(table.PrimaryKey, ", "))
	}
	ownsRestaurant := false
	for _, fk := range table.ForeignKeys {
		if fk.RefTable == "restaurants" {
			if slices.Equal(fk.Columns, []string{"restaurant_id"}) && slices.Equal(fk.RefColumns, []string{"id"}) {
				ownsRestaurant = true
			} else {
				t.Errorf("reference %s to restaurants must be (restaurant_id) → restaurants(id)", fk)
			}
			continue
		}
		i := slices.Index(fk.Columns, "restaurant_id")
		if i < 0 || i >= len(fk.RefColumns) || fk.RefColumns[i] != "restaurant_id" {
			t.Errorf("reference %s is not composite on restaurant_id: it could point into another tenant", fk)
		}
		if !slices.Contains(store.TenantTables, fk.RefTable) {
			t.Errorf("reference %s points outside the tenant tables", fk)
		} else if slices.Index(store.TenantTables, fk.RefTable) > slices.Index(store.TenantTables, table.Name) {
			t.Errorf("store.TenantTables lists %s before %s, which it references", table.Name, fk.RefTable)
		}
	}
	// The change log's rows are deleted by DeleteRestaurant rather than by a
	// cascade: a referential check per logged row cost the capture too
	// much (TestDeletingARestaurantDeletesItsLog holds the deletion).
	if _, isLog := store.LogTables[table.Name]; !ownsRestaurant && !isLog {
		t.Errorf("no foreign key (restaurant_id) → restaurants(id)")
	}
	for _, u := range table.Uniques {
		if !slices.Contains(u, "restaurant_id") {
			t.Errorf("unique (%s) does not include restaurant_id: it would be unique across tenants", strings.Join(u, ", "))
		}
	}
}

// TestDatabaseRefusesCrossTenantReference proves the database itself, not
// the application, stops a row of tenant B from pointing at tenant A's row.
func TestDatabaseRefusesCrossTenantReference(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	a, err := db.CreateRestaurant(ctx, "A", "AA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateRestaurant(ctx, "B", "BB")
	if err != nil {
		t.Fatal(err)
	}
	now := db.Now()
	catA := store.NewID()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO menu_categories (restaurant_id, id, name, created_at, updated_at) VALUES ($1, $2, 'Mains', $3, $3)`,
		a.ID, catA, now); err != nil {
		t.Fatal(err)
	}
	insertItem := func(restaurantID string) error {
		_, err := db.SQL().ExecContext(ctx, `INSERT INTO menu_items (restaurant_id, id, category_id, name, price_cents, created_at, updated_at)
			VALUES ($1, $2, $3, 'Ramen', 1200, $4, $4)`, restaurantID, store.NewID(), catA, now)
		return err
	}
	if err := insertItem(a.ID); err != nil {
		t.Fatalf("same-tenant reference refused: %v", err)
	}
	if err := insertItem(b.ID); err == nil {
		t.Fatal("the database accepted a menu item of tenant B in tenant A's category")
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM menu_items WHERE restaurant_id = $1`, b.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tenant B has %d menu items (err %v), want 0", n, err)
	}
	// The same e-mail may exist once per tenant, not twice in one.
	for _, r := range []tenancy.Restaurant{a, b} {
		if _, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "x@example.com", Role: tenancy.Staff, PasswordHash: "h"}); err != nil {
			t.Fatalf("same e-mail in another tenant: %v", err)
		}
	}
	if _, err := db.CreateUser(tenancy.WithTenant(ctx, a.ID), tenancy.User{Email: "X@example.com", Role: tenancy.Staff, PasswordHash: "h"}); err == nil {
		t.Fatal("duplicate e-mail accepted within one tenant")
	}
}
