#!/usr/bin/env bash
# Recovery benchmark on PostgreSQL: export and import of one tenant of N rows
# with the ordersuite CLI (wall time, peak RSS), beside psql COPY of the same
# rows (the physical reference). Usage: scripts/bench-recovery.sh [N …]
# Needs: go, psql, /usr/bin/time, a PostgreSQL at $PGURL.
set -euo pipefail
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres}
SIZES=${*:-10000 100000}
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$PGURL" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS bench_recovery CASCADE" >/dev/null 2>&1' EXIT
go build -o "$work/ordersuite" ./cmd/ordersuite
psql "$PGURL" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS bench_recovery CASCADE; CREATE SCHEMA bench_recovery" >/dev/null
export DATABASE_URL="$PGURL?search_path=bench_recovery" JWT_SECRET=benchmark-secret-benchmark-secret-32 \
  BACKUP_DIR="$work/backups" LOG_LEVEL=error
"$work/ordersuite" migrate >/dev/null
PSQL=(psql "$PGURL" -qAt -v ON_ERROR_STOP=1 -c "SET search_path=bench_recovery" -c)

peak() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }

printf "| rows | export s | export rows/s | export peak RSS MiB | archive MiB | import s | import rows/s | import peak RSS MiB | psql COPY s |\n"
printf "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
for n in $SIZES; do
  rid=$("${PSQL[@]}" "INSERT INTO restaurants (id, name, prefix, status, created_at, updated_at)
      VALUES (gen_random_uuid(), 'Bench $n', 'BN', 'active', now(), now()) RETURNING id")
  "${PSQL[@]}" "INSERT INTO users (restaurant_id, id, email, name, role, password_hash, created_at, updated_at)
      SELECT '$rid', gen_random_uuid(), 'u' || i || '@bench.test', 'User ' || i, 'customer', '\$2a\$10\$abcdefghijklmnopqrstuv', now(), now()
      FROM generate_series(1, $n / 100) i;
    INSERT INTO menu_categories (restaurant_id, id, name, position, created_at, updated_at)
      SELECT '$rid', gen_random_uuid(), 'Category ' || i, i, now(), now() FROM generate_series(1, 20) i;
    INSERT INTO menu_items (restaurant_id, id, category_id, name, description, price_cents, available, created_at, updated_at)
      SELECT '$rid', gen_random_uuid(), c.id, c.name || ' item ' || i, 'A fine dish', 500 + i, true, now(), now()
      FROM menu_categories c, generate_series(1, 10) i WHERE c.restaurant_id = '$rid';
    INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
      SELECT '$rid', gen_random_uuid(), 'api_request',
             jsonb_build_object('path', '/api/v1/orders', 'method', 'GET', 'duration_ms', i % 97, 'status', 200),
             now() - (i || ' seconds')::interval
      FROM generate_series(1, $n - $n / 100 - 220) i;" >/dev/null
  total=$("${PSQL[@]}" "SELECT (SELECT count(*) FROM users WHERE restaurant_id='$rid') + (SELECT count(*) FROM menu_categories WHERE restaurant_id='$rid')
      + (SELECT count(*) FROM menu_items WHERE restaurant_id='$rid') + (SELECT count(*) FROM tenant_events WHERE restaurant_id='$rid') + 1")
  /usr/bin/time -v "$work/ordersuite" backup tenant "$rid" >"$work/export.out" 2>"$work/export.time"
  id=$(awk '{print $1}' "$work/export.out")
  size=$(du -m "$work/backups/$id.zip" | cut -f1)
  /usr/bin/time -v "$work/ordersuite" restore from-backup "$id" --name "Bench $n copy" >/dev/null 2>"$work/import.time"
  copy_start=$(date +%s.%N)
  for t in restaurants users menu_categories menu_items tenant_events; do
    key=restaurant_id; [ "$t" = restaurants ] && key=id
    psql "$PGURL" -qAt -c "COPY (SELECT * FROM bench_recovery.$t WHERE $key = '$rid') TO STDOUT" >/dev/null
  done
  copy_end=$(date +%s.%N)
  e=$(wall "$work/export.time"); i=$(wall "$work/import.time"); c=$(echo "$copy_end - $copy_start" | bc)
  printf "| %d | %.2f | %.0f | %s | %s | %.2f | %.0f | %s | %.2f |\n" "$total" "$e" "$(echo "$total / $e" | bc -l)" "$(peak "$work/export.time")" \
    "$size" "$i" "$(echo "$total / $i" | bc -l)" "$(peak "$work/import.time")" "$c"
done
