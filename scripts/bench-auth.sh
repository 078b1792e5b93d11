#!/usr/bin/env bash
# Load test of login and an authenticated GET with wrk on loopback, on the
# embedded SQLite database and on PostgreSQL. Prints wrk's summaries.
#   scripts/bench-auth.sh [duration]      (default 10s)
# Needs wrk (apt-get install wrk) and, for the PostgreSQL part, psql.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10s}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

go build -o "$work/ordersuite" ./cmd/ordersuite

run_engine() {
	local name="$1" port="$2"; shift 2
	echo "### $name"
	LOG_LEVEL=warn "$work/ordersuite" serve --listen-addr "127.0.0.1:$port" --data-dir "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" &
	local pid=$!
	for _ in $(seq 100); do grep -q listening "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
	local email password
	if grep -q "restaurant admin" "$work/$name.out"; then
		email=$(awk '/restaurant admin/ {print $3}' "$work/$name.out")
		password=$(awk '/restaurant admin/ {print $5}' "$work/$name.out")
	else
		email="$BENCH_EMAIL" password="$BENCH_PASSWORD"
	fi
	local body="{\"email\":\"$email\",\"password\":\"$password\"}"
	local token
	token=$(curl -fsS "http://127.0.0.1:$port/login" -H 'Content-Type: application/json' -d "$body" |
		sed -E 's/.*"jwt":"([^"]+)".*/\1/')
	cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
	echo "--- POST /login (bcrypt cost 10)"
	wrk -t2 -c8 -d"$DURATION" --latency -s "$work/login.lua" "http://127.0.0.1:$port/login" | grep -E "Requests/sec|99%|50%|Non-2xx"
	echo "--- GET /api/v1/me (token verified and revocation checked in the database on every request)"
	wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/me" | grep -E "Requests/sec|99%|50%|Non-2xx"
	stop "$pid"
}

run_engine sqlite 18181

if pg_isready -q -d "$PG_URL_BASE/postgres"; then
	psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_bench WITH (FORCE)" -c "CREATE DATABASE ordersuite_bench"
	export BENCH_EMAIL=bench@example.com BENCH_PASSWORD=bench-password-123
	# Create a tenant admin through the API as the configured operator.
	DATABASE_URL="$PG_URL_BASE/ordersuite_bench" JWT_SECRET=bench-secret-bench-secret-bench-secret \
		ADMIN_EMAIL=op@example.com ADMIN_PASSWORD=operator-password LOG_LEVEL=warn \
		"$work/ordersuite" serve --listen-addr 127.0.0.1:18182 >"$work/pgsetup.out" 2>&1 &
	setup_pid=$!
	for _ in $(seq 100); do grep -q listening "$work/pgsetup.out" 2>/dev/null && break; sleep 0.1; done
	op=$(curl -fsS 127.0.0.1:18182/login -H 'Content-Type: application/json' -d '{"email":"op@example.com","password":"operator-password"}' | sed -E 's/.*"jwt":"([^"]+)".*/\1/')
	rid=$(curl -fsS -H "Content-Type: application/json" 127.0.0.1:18182/api/v1/restaurants -H "Authorization: Bearer $op" -d '{"name":"Bench Bistro"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
	curl -fsS -H "Content-Type: application/json" 127.0.0.1:18182/api/v1/users -H "Authorization: Bearer $op" -H "X-Restaurant-ID: $rid" \
		-d "{\"email\":\"$BENCH_EMAIL\",\"role\":\"admin\",\"password\":\"$BENCH_PASSWORD\"}" >/dev/null
	stop "$setup_pid"
	run_engine postgres 18183 --database-url "$PG_URL_BASE/ordersuite_bench" --jwt-secret bench-secret-bench-secret-bench-secret
	psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ordersuite_bench WITH (FORCE)"
else
	echo "PostgreSQL unreachable at $PG_URL_BASE: skipped" >&2
fi
