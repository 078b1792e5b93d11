#!/bin/sh
# Regenerates buckets.txt: "<key> <entity_id> <bucket>" per line, where
# bucket = MD5("<key>:<entity_id>") as an unsigned big-endian integer mod 100,
# computed with md5sum and python3's arbitrary-precision integers (the same
# arithmetic as Ruby's hexdigest.to_i(16) % 100), independently of the Go code.
#   sh internal/flags/testdata/gen_buckets.sh > internal/flags/testdata/buckets.txt
set -eu
keys="new_order_ui advanced_analytics beta.checkout loyalty-v2 x"
entities="1 42 user-1 user-2 7f3e2c1a-0000-4000-8000-000000000001 order_99 customer@example.test 00000000-0000-0000-0000-000000000000 9999999999 Z é"
for k in $keys; do
	for e in $entities; do
		hex=$(printf '%s:%s' "$k" "$e" | md5sum | cut -d' ' -f1)
		bucket=$(python3 -c "print(int('$hex', 16) % 100)")
		printf '%s %s %s\n' "$k" "$e" "$bucket"
	done
done
# One entity id longer than the evaluator's stack buffer.
long=$(python3 -c "print('e' * 300)")
hex=$(printf '%s:%s' "advanced_analytics" "$long" | md5sum | cut -d' ' -f1)
printf '%s %s %s\n' "advanced_analytics" "$long" "$(python3 -c "print(int('$hex', 16) % 100)")"
