#!/usr/bin/env bash
# The authenticated hot paths against a bare net/http JSON server, in one run
# and interleaved, so machine load falls on both alike: GET /api/v1/me with a
# login token, OFREP single and bulk with an SDK key (a 50 % rollout flag and
# a targetingKey per request). Prints requests/s and each ratio to the bare
# server measured just before it.
#   scripts/bench-hotpath.sh [duration] [sqlite|postgres]   (default 10s sqlite)
# Needs wrk; for postgres, PG_URL_BASE (default postgres://postgres@127.0.0.1:5432).
# BEFORE_BIN=<an ordersuite binary> also serves that build (its own database)
# and measures it right after this one for each endpoint, so an earlier build
# and this one are compared within the same run.
# ROUNDS=N (default 1) measures each endpoint N times, each time right after
# the bare server, and prints every ratio and their median: one 5 s wrk run
# of the bare server alone varies by ±20 % on a shared 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10s}"
ENGINE="${2:-sqlite}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
BEFORE_BIN="${BEFORE_BIN:-}"
ROUNDS="${ROUNDS:-1}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/ordersuite" ./cmd/ordersuite
go build -C bench -o "$work/barejson" ./barejson
"$work/barejson" 127.0.0.1:18190 &

json_field() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
login() { # base email password; retried while the first start seeds its demo data
	for _ in $(seq 50); do
		curl -fsS "$1/login" -H 'Content-Type: application/json' -d "{\"email\":\"$2\",\"password\":\"$3\"}" 2>/dev/null |
			json_field '["jwt"]' 2>/dev/null && return
		sleep 0.2
	done
	echo "login as $2 failed" >&2
	return 1
}

# serve NAME BINARY PORT: starts a server on a fresh database and writes
# $work/NAME.env with its base URL, a restaurant admin's token and an SDK key.
serve() {
	local name="$1" bin="$2" port="$3" db="ordersuite_hotpath_$1"
	local base="http://127.0.0.1:$port" out="$work/$name.out"
	local args=(--listen-addr "127.0.0.1:$port" --data-dir "$work/data-$name" --log-level warn)
	if [ "$ENGINE" = postgres ]; then
		psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
		args+=(--database-url "$PG_URL_BASE/$db?sslmode=disable" --jwt-secret hotpath-secret-hotpath-secret-hotpath)
		# The operator comes from the environment on PostgreSQL; seed the demo data.
		DATABASE_URL="$PG_URL_BASE/$db?sslmode=disable" "$bin" migrate >/dev/null
		DATABASE_URL="$PG_URL_BASE/$db?sslmode=disable" "$bin" seed-demo >"$out"
		export ADMIN_EMAIL=op@example.com ADMIN_PASSWORD=operator-password
	fi
	"$bin" serve "${args[@]}" >>"$out" 2>"$work/$name.err" &
	for _ in $(seq 600); do grep -q listening "$out" 2>/dev/null && break; sleep 0.1; done
	local admin email password operator op_email op_password tok optok rid key
	admin=$(grep 'restaurant admin:' "$out" | head -1 | awk '{print $3, $5}')
	read -r email password <<<"$admin"
	tok=$(login "$base" "$email" "$password")
	operator=$(grep 'platform operator:' "$out" | head -1 | awk '{print $3, $5}')
	if [ -n "$operator" ]; then read -r op_email op_password <<<"$operator"; else op_email=$ADMIN_EMAIL op_password=$ADMIN_PASSWORD; fi
	optok=$(login "$base" "$op_email" "$op_password")
	rid=$(curl -fsS "$base/api/v1/me" -H "Authorization: Bearer $tok" | json_field '["user"]["restaurant_id"]')
	curl -fsS -o /dev/null "$base/admin/feature_flags/enable_for_tenant" -H "Authorization: Bearer $optok" -H "X-Restaurant-ID: $rid" \
		-H 'Content-Type: application/json' -d '{"key":"checkout_rollout","percentage":50}'
	key=$(curl -fsS "$base/admin/sdk_keys" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d '{"name":"bench"}' | json_field '["key"]')
	cat >"$work/$name.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"context":{"targetingKey":"user-' .. n .. '"}}')
end
LUA
	printf 'base=%q\ntok=%q\n' "$base" "$tok" >"$work/$name.env"
}

servers=(now)
serve now "$work/ordersuite" 18191
if [ -n "$BEFORE_BIN" ]; then
	serve before "$BEFORE_BIN" 18192
	servers+=(before)
fi

rps() { wrk -t2 -c32 -d"$DURATION" "$@" | awk '/Requests\/sec/ {print $2}'; }
report() { # name, ours, bare
	python3 -c "import sys; print('%-48s %10.0f req/s   bare %10.0f req/s   ratio %.2f' % (sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[2]) / float(sys.argv[3])))" "$@"
}
endpoint() { # name, then how to run wrk given base and lua
	local what="$1" bare ours ratios
	for s in "${servers[@]}"; do
		# shellcheck disable=SC1090
		source "$work/$s.env"
		ratios=()
		for _ in $(seq "$ROUNDS"); do
			bare=$(rps http://127.0.0.1:18190/)
			case "$what" in
			me) ours=$(rps -H "Authorization: Bearer $tok" "$base/api/v1/me"); label="GET /api/v1/me (token)" ;;
			single) ours=$(rps -s "$work/$s.lua" "$base/ofrep/v1/evaluate/flags/checkout_rollout"); label="OFREP single (SDK key)" ;;
			bulk) ours=$(rps -s "$work/$s.lua" "$base/ofrep/v1/evaluate/flags"); label="OFREP bulk (SDK key)" ;;
			esac
			if [ "${#servers[@]}" -gt 1 ]; then label="$label [$s]"; fi
			report "$label" "$ours" "$bare"
			ratios+=("$(python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$ours" "$bare")")
		done
		if [ "$ROUNDS" -gt 1 ]; then
			python3 -c "import sys, statistics; r = sorted(map(float, sys.argv[2:])); print('%-48s median ratio %.2f  (%s)' % (sys.argv[1], statistics.median(r), ' '.join('%.2f' % x for x in r)))" "$label" "${ratios[@]}"
		fi
	done
}
echo "engine: $ENGINE, duration $DURATION per run, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
endpoint me
endpoint single
endpoint bulk
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$ENGINE" = postgres ]; then
	kill $(jobs -p) 2>/dev/null || true
	sleep 0.5
	for s in "${servers[@]}"; do psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_hotpath_$s WITH (FORCE)"; done
fi
