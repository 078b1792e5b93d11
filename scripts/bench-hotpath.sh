#!/usr/bin/env bash
# The authenticated hot paths against a bare net/http JSON server, in one run
# and interleaved, so machine load falls on both alike: GET /api/v1/me with a
# login token, OFREP single and bulk with an SDK key (a 50 % rollout flag and
# a targetingKey per request). Prints requests/s and each ratio to the bare
# server measured just before it.
#   scripts/bench-hotpath.sh [duration] [sqlite|postgres]   (default 10s sqlite)
# Needs wrk; for postgres, PG_URL_BASE (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10s}"
ENGINE="${2:-sqlite}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/ordersuite" ./cmd/ordersuite
go build -C bench -o "$work/barejson" ./barejson
"$work/barejson" 127.0.0.1:18190 &

port=18191
base="http://127.0.0.1:$port"
args=(--listen-addr "127.0.0.1:$port" --data-dir "$work/data" --log-level warn)
if [ "$ENGINE" = postgres ]; then
	psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_hotpath WITH (FORCE)" -c "CREATE DATABASE ordersuite_hotpath"
	args+=(--database-url "$PG_URL_BASE/ordersuite_hotpath?sslmode=disable" --jwt-secret hotpath-secret-hotpath-secret-hotpath)
	# The operator comes from the environment on PostgreSQL; seed the demo data.
	DATABASE_URL="$PG_URL_BASE/ordersuite_hotpath?sslmode=disable" "$work/ordersuite" migrate >/dev/null
	DATABASE_URL="$PG_URL_BASE/ordersuite_hotpath?sslmode=disable" "$work/ordersuite" seed-demo >"$work/out.txt"
	export ADMIN_EMAIL=op@example.com ADMIN_PASSWORD=operator-password
fi
"$work/ordersuite" serve "${args[@]}" >>"$work/out.txt" 2>"$work/err.txt" &
for _ in $(seq 600); do grep -q listening "$work/out.txt" 2>/dev/null && break; sleep 0.1; done

json_field() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
admin=$(grep 'restaurant admin:' "$work/out.txt" | head -1 | awk '{print $3, $5}')
read -r email password <<<"$admin"
login() { # email password; retried while the first start seeds its demo data
	for _ in $(seq 50); do
		curl -fsS "$base/login" -H 'Content-Type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" 2>/dev/null |
			json_field '["jwt"]' 2>/dev/null && return
		sleep 0.2
	done
	echo "login as $1 failed" >&2
	return 1
}
tok=$(login "$email" "$password")
operator=$(grep 'platform operator:' "$work/out.txt" | head -1 | awk '{print $3, $5}')
if [ -n "$operator" ]; then read -r op_email op_password <<<"$operator"; else op_email=$ADMIN_EMAIL op_password=$ADMIN_PASSWORD; fi
optok=$(login "$op_email" "$op_password")
rid=$(curl -fsS "$base/api/v1/me" -H "Authorization: Bearer $tok" | json_field '["user"]["restaurant_id"]')
curl -fsS -o /dev/null "$base/admin/feature_flags/enable_for_tenant" -H "Authorization: Bearer $optok" -H "X-Restaurant-ID: $rid" \
	-H 'Content-Type: application/json' -d '{"key":"checkout_rollout","percentage":50}'
key=$(curl -fsS "$base/admin/sdk_keys" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d '{"name":"bench"}' | json_field '["key"]')

cat >"$work/ofrep.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"context":{"targetingKey":"user-' .. n .. '"}}')
end
LUA
rps() { wrk -t2 -c32 -d"$DURATION" "$@" | awk '/Requests\/sec/ {print $2}'; }
report() { # name, ours, bare
	python3 -c "import sys; print('%-40s %10.0f req/s   bare %10.0f req/s   ratio %.2f' % (sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[2]) / float(sys.argv[3])))" "$@"
}
echo "engine: $ENGINE, duration $DURATION per run, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
bare=$(rps http://127.0.0.1:18190/)
me=$(rps -H "Authorization: Bearer $tok" "$base/api/v1/me")
report "GET /api/v1/me (token)" "$me" "$bare"
bare=$(rps http://127.0.0.1:18190/)
single=$(rps -s "$work/ofrep.lua" "$base/ofrep/v1/evaluate/flags/checkout_rollout")
report "OFREP single (SDK key)" "$single" "$bare"
bare=$(rps http://127.0.0.1:18190/)
bulk=$(rps -s "$work/ofrep.lua" "$base/ofrep/v1/evaluate/flags")
report "OFREP bulk (SDK key)" "$bulk" "$bare"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$ENGINE" = postgres ]; then
	kill $(jobs -p) 2>/dev/null || true
	sleep 0.5
	psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_hotpath WITH (FORCE)"
fi
