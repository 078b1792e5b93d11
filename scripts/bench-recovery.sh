#!/usr/bin/env bash
# Recovery benchmark on PostgreSQL: export, import and drill of one tenant of
# N rows with the ordersuite CLI (wall time, peak RSS), beside psql COPY of
# the same rows out of and into the same tables in the same run (the
# physical reference both ways). Usage: scripts/bench-recovery.sh [N …]
#
# scripts/bench-recovery.sh --point-in-time [N [CHANGES]] instead restores a
# tenant of N rows (default 1 000 000) with CHANGES (default 100 000) changes
# made since its backup to the moment after them: from the live change log,
# then — the log shipped, the database lost (a new empty schema, the same
# backup directory) — from the shipped segments.
# Needs: go, psql, /usr/bin/time, a PostgreSQL at $PGURL.
set -euo pipefail
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres}
PITR=
if [[ "${1:-}" == "--point-in-time" ]]; then
  PITR=1
  shift
fi
SIZES=${*:-10000 100000}
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$PGURL" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS bench_recovery CASCADE; DROP SCHEMA IF EXISTS bench_recovery_lost CASCADE" >/dev/null 2>&1' EXIT
go build -o "$work/ordersuite" ./cmd/ordersuite
psql "$PGURL" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS bench_recovery CASCADE; CREATE SCHEMA bench_recovery" >/dev/null
export DATABASE_URL="$PGURL?search_path=bench_recovery" JWT_SECRET=benchmark-secret-benchmark-secret-32 \
  BACKUP_DIR="$work/backups" LOG_LEVEL=error
"$work/ordersuite" migrate >/dev/null
PSQL=(psql "$PGURL" -qAt -v ON_ERROR_STOP=1 -c "SET search_path=bench_recovery" -c)

peak() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }

# make_tenant N: a restaurant of about N rows (users, menu, and the rest
# analytics events); sets rid and total.
make_tenant() {
  rid=$("${PSQL[@]}" "INSERT INTO restaurants (id, name, prefix, status, created_at, updated_at)
      VALUES (gen_random_uuid(), 'Bench $1', 'BN', 'active', now(), now()) RETURNING id")
  "${PSQL[@]}" "INSERT INTO users (restaurant_id, id, email, name, role, password_hash, created_at, updated_at)
      SELECT '$rid', gen_random_uuid(), 'u' || i || '@bench.test', 'User ' || i, 'customer', '\$2a\$10\$abcdefghijklmnopqrstuv', now(), now()
      FROM generate_series(1, $1 / 100) i;
    INSERT INTO menu_categories (restaurant_id, id, name, position, created_at, updated_at)
      SELECT '$rid', gen_random_uuid(), 'Category ' || i, i, now(), now() FROM generate_series(1, 20) i;
    INSERT INTO menu_items (restaurant_id, id, category_id, name, description, price_cents, available, created_at, updated_at)
      SELECT '$rid', gen_random_uuid(), c.id, c.name || ' item ' || i, 'A fine dish', 500 + i, true, now(), now()
      FROM menu_categories c, generate_series(1, 10) i WHERE c.restaurant_id = '$rid';
    INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
      SELECT '$rid', gen_random_uuid(), 'api_request',
             jsonb_build_object('path', '/api/v1/orders', 'method', 'GET', 'duration_ms', i % 97, 'status', 200),
             now() - (i || ' seconds')::interval
      FROM generate_series(1, $1 - $1 / 100 - 220) i;" >/dev/null
  total=$("${PSQL[@]}" "SELECT (SELECT count(*) FROM users WHERE restaurant_id='$rid') + (SELECT count(*) FROM menu_categories WHERE restaurant_id='$rid')
      + (SELECT count(*) FROM menu_items WHERE restaurant_id='$rid') + (SELECT count(*) FROM tenant_events WHERE restaurant_id='$rid') + 1")
}

if [[ -n "$PITR" ]]; then
  n=${1:-1000000}; changes=${2:-100000}
  make_tenant "$n"
  "$work/ordersuite" backup tenant "$rid" >/dev/null
  # CHANGES updates of the tenant's users (captured), one transaction per round.
  users=$("${PSQL[@]}" "SELECT count(*) FROM users WHERE restaurant_id = '$rid'")
  change_start=$(date +%s.%N)
  done_changes=0; round=0
  while (( done_changes < changes )); do
    round=$((round + 1))
    "${PSQL[@]}" "UPDATE users SET name = 'User ' || id || ' round $round' WHERE restaurant_id = '$rid'
        AND id IN (SELECT id FROM users WHERE restaurant_id = '$rid' ORDER BY id LIMIT $((changes - done_changes)))" >/dev/null
    done_changes=$((done_changes + (users < changes - done_changes ? users : changes - done_changes)))
  done
  change_end=$(date +%s.%N)
  sleep 2
  at=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  logged=$("${PSQL[@]}" "SELECT count(*) FROM tenant_changes WHERE restaurant_id = '$rid'")
  /usr/bin/time -v "$work/ordersuite" restore point-in-time "$rid" --at "$at" --new-name "Bench at the moment" >/dev/null 2>"$work/pitr.time"
  /usr/bin/time -v "$work/ordersuite" backup ship-changes >/dev/null 2>"$work/ship.time"
  segs=$(find "$work/backups/changes/$rid" -name '*.jsonl.gz*' | wc -l)
  seg_mib=$(du -sm "$work/backups/changes/$rid" | cut -f1)
  # The database lost: a new empty schema, the same backup directory.
  psql "$PGURL" -qc "SET client_min_messages=warning; DROP SCHEMA IF EXISTS bench_recovery_lost CASCADE; CREATE SCHEMA bench_recovery_lost" >/dev/null
  DATABASE_URL="$PGURL?search_path=bench_recovery_lost" "$work/ordersuite" migrate >/dev/null
  DATABASE_URL="$PGURL?search_path=bench_recovery_lost" /usr/bin/time -v "$work/ordersuite" restore point-in-time "$rid" --at "$at" --new-name "Recovered" >/dev/null 2>"$work/lost.time"
  printf "| tenant rows | changes since the backup (logged) | making them s | restore to the moment, live log s | peak RSS MiB | shipping them s | segments (MiB) | restore to the moment from segments, database lost s | peak RSS MiB |\n"
  printf "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
  printf "| %d | %d (%d) | %.1f | %.2f | %s | %.2f | %d (%s) | %.2f | %s |\n" "$total" "$changes" "$logged" "$(echo "$change_end - $change_start" | bc)" \
    "$(wall "$work/pitr.time")" "$(peak "$work/pitr.time")" "$(wall "$work/ship.time")" "$segs" "$seg_mib" "$(wall "$work/lost.time")" "$(peak "$work/lost.time")"
  exit 0
fi

printf "| rows | export s | export rows/s | export peak RSS MiB | archive MiB | COPY out s | COPY out rows/s | import s | import rows/s | import peak RSS MiB | COPY in s | COPY in rows/s | drill s | drill peak RSS MiB |\n"
printf "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
for n in $SIZES; do
  make_tenant "$n"
  /usr/bin/time -v "$work/ordersuite" backup tenant "$rid" >"$work/export.out" 2>"$work/export.time"
  id=$(awk '{print $1}' "$work/export.out")
  size=$(du -m "$work/backups/$id.zip" | cut -f1)
  /usr/bin/time -v "$work/ordersuite" restore from-backup "$id" --name "Bench $n copy" >/dev/null 2>"$work/import.time"
  # COPY out: every row of the tenant to a file per table, restaurant_id
  # replaced by a new restaurant's id, ready to be copied back in.
  ref=$("${PSQL[@]}" "SELECT gen_random_uuid()")
  tables="users menu_categories menu_items tenant_events"
  copy_start=$(date +%s.%N)
  psql "$PGURL" -qAt -c "COPY (SELECT * FROM bench_recovery.restaurants WHERE id = '$rid') TO STDOUT" >/dev/null
  for t in $tables; do
    cols=$("${PSQL[@]}" "SELECT string_agg(CASE WHEN column_name = 'restaurant_id' THEN quote_literal('$ref') || '::uuid AS restaurant_id'
        ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position)
      FROM information_schema.columns WHERE table_schema = 'bench_recovery' AND table_name = '$t'")
    psql "$PGURL" -qAt -c "COPY (SELECT $cols FROM bench_recovery.$t WHERE restaurant_id = '$rid') TO STDOUT" >"$work/$t.copy"
  done
  copy_end=$(date +%s.%N)
  # COPY in: the same rows into the same tables (indexes and foreign keys
  # checked) as a new restaurant, in one transaction.
  in_args=(-c "SET search_path=bench_recovery"
    -c "INSERT INTO restaurants (id, name, prefix, status, created_at, updated_at) SELECT '$ref', name || ' COPY', prefix, status, created_at, updated_at FROM restaurants WHERE id = '$rid'")
  for t in $tables; do in_args+=(-c "\\copy $t FROM '$work/$t.copy'"); done
  in_start=$(date +%s.%N)
  psql "$PGURL" -qAt -1 -v ON_ERROR_STOP=1 "${in_args[@]}" >/dev/null
  in_end=$(date +%s.%N)
  "${PSQL[@]}" "DELETE FROM restaurants WHERE id = '$ref'" >/dev/null
  rm -f "$work"/*.copy
  /usr/bin/time -v "$work/ordersuite" drill "$rid" >/dev/null 2>"$work/drill.time"
  e=$(wall "$work/export.time"); i=$(wall "$work/import.time"); d=$(wall "$work/drill.time")
  c=$(echo "$copy_end - $copy_start" | bc); ci=$(echo "$in_end - $in_start" | bc)
  printf "| %d | %.2f | %.0f | %s | %s | %.2f | %.0f | %.2f | %.0f | %s | %.2f | %.0f | %.2f | %s |\n" "$total" \
    "$e" "$(echo "$total / $e" | bc -l)" "$(peak "$work/export.time")" "$size" "$c" "$(echo "$total / $c" | bc -l)" \
    "$i" "$(echo "$total / $i" | bc -l)" "$(peak "$work/import.time")" "$ci" "$(echo "$total / $ci" | bc -l)" \
    "$d" "$(peak "$work/drill.time")"
done
