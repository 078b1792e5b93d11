#!/bin/sh
# OFREP throughput on loopback: builds ordersuite, serves a fresh SQLite
# database, creates a 30 % rollout flag as the demo operator, and drives the
# single and bulk endpoints with wrk (a customer-style bearer token, a
# targetingKey per request). Usage: sh bench/ofrep_wrk.sh [seconds]
set -eu
secs=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
port=18555
go build -C "$root" -o "$dir/ordersuite" ./cmd/ordersuite
"$dir/ordersuite" serve --data-dir "$dir/data" --listen-addr 127.0.0.1:$port --log-level warn >"$dir/out.txt" 2>"$dir/err.txt" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q listening "$dir/out.txt" 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$port
login() {
	curl -s $base/login -H 'Content-Type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" |
		python3 -c 'import sys, json; print(json.load(sys.stdin)["jwt"])'
}
op=$(grep 'platform operator:' "$dir/out.txt" | awk '{print $3, $5}')
admin=$(grep 'restaurant admin:' "$dir/out.txt" | awk '{print $3, $5}')
rid=$(sed -n 's/.*(id \([0-9a-f-]*\)).*/\1/p' "$dir/out.txt" | head -1)
optok=$(login $op)
tok=$(login $admin)
curl -sf -o /dev/null -H "Content-Type: application/json" $base/admin/feature_flags/enable_for_tenant -H "Authorization: Bearer $optok" \
	-H "X-Restaurant-ID: $rid" -d '{"key":"checkout_rollout","percentage":30}'
curl -sf -o /dev/null -H "Content-Type: application/json" $base/admin/feature_flags/enable_for_tenant -H "Authorization: Bearer $optok" \
	-H "X-Restaurant-ID: $rid" -d '{"key":"new_order_ui"}'
cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $tok"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"context":{"targetingKey":"user-' .. n .. '"}}')
end
LUA
echo "== single: POST /ofrep/v1/evaluate/flags/checkout_rollout"
wrk -t2 -c32 -d${secs}s -s "$dir/post.lua" $base/ofrep/v1/evaluate/flags/checkout_rollout
echo "== bulk: POST /ofrep/v1/evaluate/flags"
wrk -t2 -c32 -d${secs}s -s "$dir/post.lua" $base/ofrep/v1/evaluate/flags
