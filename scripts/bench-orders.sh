#!/usr/bin/env bash
# Order creation on PostgreSQL against its floor, in one run.
#
# For 1, 4, 16 and 64 clients, with one restaurant and with ten:
#   1. pgbench runs the SQL an order makes: the same two statements on
#      the same tables (the one statement that reads and prices the
#      ordered menu items, takes the daily counter and writes the order,
#      its lines and the number, committed without waiting for the disk;
#      the flush of the WAL that makes it durable), prepared, as the
#      server sends them;
#   2. wrk drives the real POST /api/v1/orders (staff tokens, the same
#      three-line orders) against `ordersuite serve`.
# The two alternate, so each ratio compares figures taken moments apart.
# The floor stays the SQL of one order at a time. The server places the
# plain orders of one restaurant that arrive while its statement runs
# together, in one statement per group (internal/store/ordergroup.go), so
# with one restaurant and many clients the endpoint can pass this floor:
# what it is compared with there is the same endpoint with ten
# restaurants (1R/10R). The server also sends one WAL flush at a time, for
# every order that waits for one (internal/store/walflush.go), where
# pgbench's clients each flush their own.
#
#   scripts/bench-orders.sh [duration]      (default 10s per measurement)
#
# Needs pgbench, psql and wrk (apt-get install postgresql-client wrk).
# ORDERSUITE_BIN runs a given binary instead of building this tree;
# CLIENTS overrides the client counts. PG_URL_BASE names the server (default postgres://postgres@127.0.0.1:5432);
# the script creates and drops the database ordersuite_orders_bench there.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10s}"
SECS="${DURATION%s}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
# No TLS on loopback; the pool sized for the clients (docs/scaling.md); idle
# connections closed within seconds so that the server's and pgbench's
# connections, which take turns, do not add up past max_connections.
POOL="${POOL:-16}"
DB_URL="$PG_URL_BASE/ordersuite_orders_bench?sslmode=disable"
SERVE_URL="$DB_URL&pool_max_conns=$POOL&pool_max_conn_idle_time=2s&pool_health_check_period=1s"
PORT="${PORT:-18191}"
CLIENTS="${CLIENTS:-1 4 16 64}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_orders_bench WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

for tool in pgbench psql wrk curl; do
	command -v "$tool" >/dev/null || { echo "bench-orders: $tool is required" >&2; exit 1; }
done

if [ -n "${ORDERSUITE_BIN:-}" ]; then # another build to compare, e.g. the previous release
	cp "$ORDERSUITE_BIN" "$work/ordersuite"
else
	go build -o "$work/ordersuite" ./cmd/ordersuite
fi
psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_orders_bench WITH (FORCE)" -c "CREATE DATABASE ordersuite_orders_bench"

export JWT_SECRET=bench-secret-bench-secret-bench-secret ADMIN_EMAIL=op@example.com ADMIN_PASSWORD=operator-password
LOG_LEVEL=warn "$work/ordersuite" serve --listen-addr "127.0.0.1:$PORT" --database-url "$SERVE_URL" \
	>"$work/serve.out" 2>"$work/serve.err" &
for _ in $(seq 300); do grep -q listening "$work/serve.out" "$work/serve.err" 2>/dev/null && break; sleep 0.1; done
api="http://127.0.0.1:$PORT"
jwt() { sed -E 's/.*"jwt":"([^"]+)".*/\1/'; }
id() { sed -E 's/^\{"[a-z_]+":\{"id":"([^"]+)".*/\1/'; }
op=$(curl -fsS "$api/login" -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | jwt)

# Ten restaurants, each with a menu of 4 categories × 6 items and a staff
# login; each restaurant's orders are three lines from its menu (2 + 1 + 3).
restaurants=() tokens=() bodies=()
for i in $(seq 0 9); do
	rid=$(curl -fsS -H "Content-Type: application/json" "$api/api/v1/restaurants" -H "Authorization: Bearer $op" -d "{\"name\":\"Bench Bistro $i\",\"prefix\":\"BB$i\"}" | id)
	items=()
	for c in Starters Mains Desserts Drinks; do
		cat=$(curl -fsS -H "Content-Type: application/json" "$api/api/v1/menu_categories" -H "Authorization: Bearer $op" -H "X-Restaurant-ID: $rid" -d "{\"name\":\"$c\"}" | id)
		for n in 1 2 3 4 5 6; do
			items+=("$(curl -fsS -H "Content-Type: application/json" "$api/api/v1/menu_items" -H "Authorization: Bearer $op" -H "X-Restaurant-ID: $rid" \
				-d "{\"category_id\":\"$cat\",\"name\":\"$c $n\",\"description\":\"House $c number $n\",\"price_cents\":$((400 + 150 * n)),\"available\":true}" | id)")
		done
	done
	curl -fsS -H "Content-Type: application/json" "$api/api/v1/users" -H "Authorization: Bearer $op" -H "X-Restaurant-ID: $rid" \
		-d "{\"email\":\"staff$i@bench.test\",\"role\":\"staff\",\"password\":\"staff-password-$i\",\"name\":\"Staff $i\"}" >/dev/null
	restaurants+=("$rid")
	tokens+=("$(curl -fsS "$api/login" -H 'Content-Type: application/json' -d "{\"email\":\"staff$i@bench.test\",\"password\":\"staff-password-$i\"}" | jwt)")
	a=${items[$((RANDOM % 24))]} b=${items[$((RANDOM % 24))]} c=${items[$((RANDOM % 24))]}
	while [ "$b" = "$a" ]; do b=${items[$((RANDOM % 24))]}; done
	while [ "$c" = "$a" ] || [ "$c" = "$b" ]; do c=${items[$((RANDOM % 24))]}; done
	bodies+=("{\"order_type\":\"takeout\",\"items\":[{\"menu_item_id\":\"$a\",\"quantity\":2},{\"menu_item_id\":\"$b\",\"quantity\":1},{\"menu_item_id\":\"$c\",\"quantity\":3}]}")

	# The order's SQL for pgbench, as internal/store/orders.go sends it for
	# this restaurant and these lines (ids and the clock from the server).
	day=$(date -u +%F) stamp=$(date -u +%y%m%d)
	cat >"$work/order$i.sql" <<SQL
WITH early AS (SELECT set_config('synchronous_commit', 'off', true)), lines AS (SELECT l.n, l.id, l.menu_item_id, m.name, m.price_cents, l.quantity, m.price_cents * l.quantity AS line_total_cents, l.notes, m.available FROM unnest(ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid()]::uuid[], ARRAY['$a', '$b', '$c']::uuid[], ARRAY[2, 1, 3]::int[], ARRAY['', '', '']::text[]) WITH ORDINALITY AS l (id, menu_item_id, quantity, notes, n) LEFT JOIN menu_items m ON m.restaurant_id = '$rid' AND m.id = l.menu_item_id), priced AS (SELECT sum(line_total_cents)::bigint AS subtotal FROM lines HAVING count(*) FILTER (WHERE available) = 3), counter AS (INSERT INTO number_counters (restaurant_id, id, kind, day, value) SELECT '$rid', gen_random_uuid(), 'O', '$day', 1 FROM priced WHERE (NULL::uuid IS NULL OR EXISTS (SELECT 1 FROM customers WHERE restaurant_id = '$rid' AND id = NULL::uuid)) AND (NULL::uuid IS NULL OR EXISTS (SELECT 1 FROM tables WHERE restaurant_id = '$rid' AND id = NULL::uuid)) ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + 1 RETURNING value), numbered AS (SELECT (SELECT prefix FROM restaurants WHERE id = '$rid') || '-O-$stamp' || CASE WHEN value < 1000 THEN lpad(value::text, 3, '0') ELSE value::text END AS number, gen_random_uuid() AS oid FROM counter), placed AS (INSERT INTO orders (restaurant_id, id, number, customer_id, table_id, promotion_id, order_type, status, notes, subtotal_cents, discount_cents, total_amount_cents, created_at, updated_at) SELECT '$rid', oid, number, NULL::uuid, NULL::uuid, NULL, 'takeout', 'pending', '', subtotal, 0, subtotal, now(), now() FROM numbered, priced RETURNING id, number), written AS (INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes) SELECT '$rid', l.id, p.id, l.menu_item_id, l.name, l.price_cents, l.quantity, l.line_total_cents, l.notes FROM placed p, lines l) SELECT p.number, l.name, l.price_cents FROM placed p, lines l, early ORDER BY l.n;
SELECT pg_logical_emit_message(true, 'ordersuite', '');
SQL
done

# wrk: each request is one restaurant's order, from the first $1 restaurants.
lua() {
	local n=$1 f="$work/orders$1.lua"
	{
		echo 'local tokens, bodies = {}, {}'
		for i in $(seq 0 $((n - 1))); do
			echo "tokens[$((i + 1))] = \"${tokens[$i]}\""
			echo "bodies[$((i + 1))] = '${bodies[$i]}'"
		done
		cat <<'LUA'
local n = #tokens
wrk.method = "POST"
request = function()
  local i = math.random(n)
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[i], ["Content-Type"] = "application/json"}, bodies[i])
end
local non201 = 0
response = function(status) if status ~= 201 then non201 = non201 + 1 end end
LUA
	} >"$f"
	echo "$f"
}
lua1=$(lua 1) lua10=$(lua 10)
scripts1="-f $work/order0.sql"
scripts10=""
for i in $(seq 0 9); do scripts10="$scripts10 -f $work/order$i.sql"; done

# Before each measurement the database is brought to the same state, so
# that none pays for what the one before it wrote: the server's change-log
# shipper (every 10 s) has shipped everything written so far, dead rows are
# vacuumed (autovacuum may be off, and the counters' rows are updated with
# every order) and a checkpoint writes the dirty pages out.
settle() {
	local until shipped
	until=$(date +%s)
	for _ in $(seq 60); do
		shipped=$(curl -fsS "$api/metrics" | awk '$1 == "changelog_shipped_through_timestamp_seconds" {printf "%d", $2}')
		[ "${shipped:-0}" -ge "$until" ] && break
		sleep 0.5
	done
	psql -q "$DB_URL" -c "VACUUM ANALYZE" -c "CHECKPOINT"
}

pgb() { # clients scripts…
	local c=$1; shift
	settle
	sleep 3 # the server's idle connections close
	pgbench -n -M prepared -c "$c" -j "$((c < 2 ? c : 2))" -T "$SECS" "$@" "$DB_URL" 2>/dev/null |
		awk '/^tps/ {printf "%.0f", $3}'
}
wrkrun() { # clients script
	local c=$1 s=$2 out
	settle
	out=$(wrk -t"$((c < 2 ? c : 2))" -c"$c" -d"$DURATION" --latency -s "$s" "$api/api/v1/orders")
	local rps p50 non2xx
	rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
	echo "$rps $p50 ${non2xx:-0}"
}

echo "# bench-orders $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION} each, server pool $POOL${ORDERSUITE_BIN:+, binary $ORDERSUITE_BIN}"
echo "# orders/s; endpoint/floor = wrk ÷ pgbench at the same clients and restaurants; 1R/10R = one restaurant ÷ ten (wrk)"
printf '%-8s | %-8s %-8s %-7s %-6s | %-8s %-8s %-7s %-6s | %s\n' clients "pgb 1R" "wrk 1R" "p50" "e/f" "pgb 10R" "wrk 10R" "p50" "e/f" "1R/10R"
for c in $CLIENTS; do
	p1=$(pgb "$c" $scripts1)
	read -r w1 l1 e1 <<<"$(wrkrun "$c" "$lua1")"
	p10=$(pgb "$c" $scripts10)
	read -r w10 l10 e10 <<<"$(wrkrun "$c" "$lua10")"
	printf '%-8s | %-8s %-8s %-7s %-6s | %-8s %-8s %-7s %-6s | %s\n' "$c" "$p1" "$w1" "$l1" \
		"$(awk -v a="$w1" -v b="$p1" 'BEGIN {printf "%.2f", a / b}')" "$p10" "$w10" "$l10" \
		"$(awk -v a="$w10" -v b="$p10" 'BEGIN {printf "%.2f", a / b}')" "$(awk -v a="$w1" -v b="$w10" 'BEGIN {printf "%.2f", a / b}')"
	if [ "${e1:-0}" != 0 ] || [ "${e10:-0}" != 0 ]; then echo "  non-2xx answers: $e1 (1R), $e10 (10R)" >&2; fi
done
orders=$(psql -qAt "$DB_URL" -c "SELECT COUNT(*), COUNT(DISTINCT (restaurant_id, number)) FROM orders")
echo "# orders stored, distinct numbers: ${orders/\|/, }"
