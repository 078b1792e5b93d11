package backup_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// Archives whose structure is sound but whose rows the database would
// refuse: each must be refused by validation, naming the table, row and
// column, before the import writes anything. They need the installation's
// catalog to be found, so the corpus keeps them apart (testdata/hostile-rows).

const ts = "2026-01-01T00:00:00.000000Z"

// fixedID is a well-formed id, stable so the committed corpus is too.
func fixedID(n int) string { return fmt.Sprintf("01960000-0000-7000-8000-%012d", n) }

func (af archiveFiles) rid(t testing.TB) string { return af.manifest(t)["restaurant_id"].(string) }

// editRow changes row i of table and fixes the manifest.
func (af *archiveFiles) editRow(t testing.TB, table string, i int, fn func(r map[string]any)) {
	rows := af.rows(t, table)
	if i >= len(rows) {
		t.Fatalf("%s has %d rows, no row %d", table, len(rows), i)
	}
	fn(rows[i])
	af.setTable(t, table, rows, true)
}

// addRows appends rows to table (each given its restaurant) and fixes the
// manifest.
func (af *archiveFiles) addRows(t testing.TB, table string, rows ...map[string]any) {
	rid := af.rid(t)
	all := af.rows(t, table)
	for _, r := range rows {
		if _, ok := r["restaurant_id"]; !ok {
			r["restaurant_id"] = rid
		}
		all = append(all, r)
	}
	af.setTable(t, table, all, true)
}

// replaceBytes swaps raw bytes in a table file (for what json.Marshal
// cannot write, such as invalid UTF-8) and fixes the manifest.
func (af archiveFiles) replaceBytes(t testing.TB, table, old, new string) {
	name := table + ".json"
	if !bytes.Contains(af.data[name], []byte(old)) {
		t.Fatalf("%s lacks %q", name, old)
	}
	af.data[name] = bytes.ReplaceAll(af.data[name], []byte(old), []byte(new))
	m := af.manifest(t)
	sum := sha256.Sum256(af.data[name])
	m["tables"].(map[string]any)[table].(map[string]any)["sha256"] = hex.EncodeToString(sum[:])
	af.setManifest(t, m)
}

func orderRow(n int, number string) map[string]any {
	return map[string]any{"id": fixedID(n), "number": number, "customer_id": nil, "table_id": nil, "promotion_id": nil,
		"order_type": "takeout", "status": "pending", "notes": "", "subtotal_cents": 1200, "discount_cents": 0,
		"total_amount_cents": 1200, "created_at": ts, "updated_at": ts}
}

func tableRow(n int, label string, capacity any) map[string]any {
	return map[string]any{"id": fixedID(n), "label": label, "capacity": capacity, "location": "", "active": true,
		"created_at": ts, "updated_at": ts}
}

func categoryRow(n int, name string, position any) map[string]any {
	return map[string]any{"id": fixedID(n), "name": name, "position": position, "created_at": ts, "updated_at": ts}
}

// edit is a row case that changes one row of the base archive.
func edit(table string, i int, fn func(r map[string]any)) func(t testing.TB, valid []byte) []byte {
	return func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.editRow(t, table, i, fn)
		return af.zip(t)
	}
}

// add is a row case that appends rows to a table of the base archive.
func add(table string, rows ...func() map[string]any) func(t testing.TB, valid []byte) []byte {
	return func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		for _, r := range rows {
			af.addRows(t, table, r())
		}
		return af.zip(t)
	}
}

var rowCases = []hostileCase{
	{"unknown_column_users_is_superuser", "row 1, column is_superuser: no such column in this installation's users table", edit("users", 0, func(r map[string]any) { r["is_superuser"] = true })},
	{"unknown_column_restaurants_plan", "column plan: no such column", edit("restaurants", 0, func(r map[string]any) { r["plan"] = "enterprise" })},
	{"refused_role_super_admin", `row 1, column role: "super_admin" is not allowed (allowed: admin, staff, customer)`,
		edit("users", 0, func(r map[string]any) { r["role"] = "super_admin" })},
	{"refused_restaurant_status", `column status: "deleted" is not allowed`, edit("restaurants", 0, func(r map[string]any) { r["status"] = "deleted" })},
	{"refused_order_status", `column status: "stolen" is not allowed`, add("orders", func() map[string]any {
		r := orderRow(101, "O-1")
		r["status"] = "stolen"
		return r
	})},
	{"refused_payment_method_kind", `column kind: "crypto" is not allowed`, add("payment_methods", func() map[string]any {
		return map[string]any{"id": fixedID(102), "name": "Coins", "kind": "crypto", "active": true, "created_at": ts, "updated_at": ts}
	})},
	{"check_table_capacity_zero", "column capacity: 0 breaks the database's rule", add("tables", func() map[string]any { return tableRow(103, "T1", 0) })},
	{"check_feature_flag_percentage", "column percentage: 101 breaks", edit("feature_flags", 0, func(r map[string]any) { r["percentage"] = 101 })},
	{"check_reservation_ends_before_start", "break the database's rule CHECK", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.addRows(t, "tables", tableRow(104, "T2", 4))
		af.addRows(t, "reservations", map[string]any{"id": fixedID(105), "number": "R-1", "customer_id": nil, "table_id": fixedID(104),
			"name": "Late", "phone": "", "party_size": 2, "starts_at": "2026-01-02T20:00:00.000000Z", "ends_at": "2026-01-02T19:00:00.000000Z",
			"status": "booked", "notes": "", "created_at": ts, "updated_at": ts})
		return af.zip(t)
	}},
	{"null_in_not_null_email", "column email: is null, but the column is NOT NULL", edit("users", 1, func(r map[string]any) { r["email"] = nil })},
	{"null_in_not_null_restaurant_name", "column name: is null", edit("restaurants", 0, func(r map[string]any) { r["name"] = nil })},
	{"wrong_type_string_for_integer", `column percentage: want an integer, got a string`, edit("feature_flags", 0, func(r map[string]any) { r["percentage"] = "30" })},
	{"wrong_type_number_for_text", "column name: want a string, got a number", edit("users", 0, func(r map[string]any) { r["name"] = 42 })},
	{"wrong_type_number_for_boolean", "column enabled: want true or false, got a number", edit("feature_flags", 0, func(r map[string]any) { r["enabled"] = 1 })},
	{"wrong_type_object_for_json", "column configuration: want a string, got an object", edit("feature_flags", 0, func(r map[string]any) {
		r["configuration"] = map[string]any{"theme": "dark"}
	})},
	{"invalid_json_document", "column configuration: is not a valid JSON document", edit("feature_flags", 0, func(r map[string]any) { r["configuration"] = "{theme: dark" })},
	{"json_with_nul_escape", `column event_data: holds \u0000`, edit("tenant_events", 0, func(r map[string]any) { r["event_data"] = `{"path":"/a\u0000b"}` })},
	{"json_with_lone_surrogate", "unpaired UTF-16 surrogate", edit("tenant_events", 1, func(r map[string]any) { r["event_data"] = `{"path":"\ud800"}` })},
	{"json_nested_too_deep", "nested deeper than", edit("tenant_events", 2, func(r map[string]any) {
		r["event_data"] = strings.Repeat("[", 2000) + strings.Repeat("]", 2000)
	})},
	{"nul_byte_in_text", "column name: contains a NUL character", edit("users", 0, func(r map[string]any) { r["name"] = "Ann\x00Lee" })},
	{"invalid_utf8_in_text", "is not valid UTF-8", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.editRow(t, "users", 0, func(r map[string]any) { r["name"] = "@@BAD@@" })
		af.replaceBytes(t, "users", "@@BAD@@", "Ann\xff\xfeLee")
		return af.zip(t)
	}},
	{"huge_integer", "is not an integer the database can store", edit("feature_flags", 0, func(r map[string]any) { r["percentage"] = 1e30 })},
	{"integer_beyond_int64", "is not an integer the database can store", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.editRow(t, "feature_flags", 0, func(r map[string]any) { r["percentage"] = 777 })
		af.replaceBytes(t, "feature_flags", `"percentage":777`, `"percentage":9223372036854775808`)
		return af.zip(t)
	}},
	{"fraction_for_integer", "is not an integer", edit("feature_flags", 0, func(r map[string]any) { r["percentage"] = 12.5 })},
	{"bad_timestamp_word", `column created_at: "yesterday" is not an RFC 3339 timestamp`, edit("users", 0, func(r map[string]any) { r["created_at"] = "yesterday" })},
	{"bad_timestamp_month_13", "is not an RFC 3339 timestamp", edit("users", 1, func(r map[string]any) { r["updated_at"] = "2026-13-01T00:00:00Z" })},
	{"timestamp_without_zone", "is not an RFC 3339 timestamp", edit("restaurants", 0, func(r map[string]any) { r["created_at"] = "2026-01-01 10:00:00" })},
	{"bad_date", "is not a date", add("tenant_daily_users", func() map[string]any {
		return map[string]any{"id": fixedID(106), "day": "2026-02-30", "user_id": "visitor-1"}
	})},
	{"duplicate_ids", "repeats row 1, but must be unique", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		dup := map[string]any{}
		for k, v := range rows[0] {
			dup[k] = v
		}
		dup["email"] = "someone-else@example.test"
		af.setTable(t, "users", append(rows, dup), true)
		return af.zip(t)
	}},
	{"duplicate_user_email", "row 3, column email: \"u0@", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		rows[2]["email"] = rows[0]["email"]
		af.setTable(t, "users", rows, true)
		return af.zip(t)
	}},
	{"duplicate_order_numbers", `row 2, column number: "O-7" repeats row 1, but must be unique`, add("orders", func() map[string]any { return orderRow(107, "O-7") },
		func() map[string]any { return orderRow(108, "O-7") })},
	{"duplicate_menu_category_names", `column name: "Sushi" repeats row 1`, add("menu_categories",
		func() map[string]any { return categoryRow(109, "Sushi", 1) }, func() map[string]any { return categoryRow(110, "Sushi", 2) })},
	{"dangling_order_item", "does not resolve inside the archive", add("order_items", func() map[string]any {
		return map[string]any{"id": fixedID(111), "order_id": fixedID(999), "menu_item_id": fixedID(998), "name": "Ghost",
			"unit_price_cents": 100, "quantity": 1, "line_total_cents": 100, "notes": ""}
	})},
	{"missing_column_without_default", "column email: the column is missing, and the database has no default", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "users")
		for _, r := range rows {
			delete(r, "email")
		}
		af.setTable(t, "users", rows, true)
		return af.zip(t)
	}},
	{"rows_with_different_columns", "row 2: does not have the same columns as row 1; lacks name", edit("users", 1, func(r map[string]any) { delete(r, "name") })},
	{"empty_row_object", "row 4: does not have the same columns as row 1", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.setTable(t, "users", append(af.rows(t, "users"), map[string]any{}), true)
		return af.zip(t)
	}},
	{"id_not_a_uuid", `column id: "not-a-uuid" is not an id`, edit("users", 0, func(r map[string]any) { r["id"] = "not-a-uuid" })},
	{"id_upper_case", "is not an id (a lower-case UUID)", edit("feature_flags", 0, func(r map[string]any) { r["id"] = strings.ToUpper(r["id"].(string)) })},
	{"two_restaurant_rows", "an archive holds exactly one restaurant", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		rows := af.rows(t, "restaurants")
		af.setTable(t, "restaurants", append(rows, rows[0]), true)
		return af.zip(t)
	}},
	{"index_entry_too_long", "too long for the database's index", add("menu_categories", func() map[string]any {
		return categoryRow(112, strings.Repeat("Very long name ", 250), 1)
	})},
	{"boolean_as_text", "column active: want true or false, got a string", add("tables", func() map[string]any {
		r := tableRow(113, "T3", 2)
		r["active"] = "yes"
		return r
	})},
	{"negative_price", "column price_cents: -1 breaks the database's rule", func(t testing.TB, valid []byte) []byte {
		af := unzip(t, valid)
		af.addRows(t, "menu_categories", categoryRow(114, "Drinks", 0))
		af.addRows(t, "menu_items", map[string]any{"id": fixedID(115), "category_id": fixedID(114), "name": "Free tea", "description": "",
			"price_cents": -1, "available": true, "created_at": ts, "updated_at": ts})
		return af.zip(t)
	}},
}
