#!/usr/bin/env bash
# Quickstart: build flowc, check the examples, and run the consumer-group example's topic on the
# embedded log — the sample access log produced into a 3-partition topic keyed by host, read by
# group A's two members at once (they split it) and by group B (it sees everything).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
flowc=./target/release/flowc
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export FLOWC_DATA_DIR="$data"

echo "== flowc check examples/*.flow"
$flowc check --quiet examples/*.flow | tail -n 1

echo "== the topic: 3 partitions, keyed by host (murmur2, as a Kafka client would place them)"
$flowc topic create access --partitions 3 --retention 168h
awk '{ print $1 "\t" $0 }' examples/data/access.log | $flowc produce access --key-separator $'\t'
$flowc topic describe access

echo "== group A: two members at once share the partitions"
$flowc consume access --group A --from-beginning --timeout 3s > "$data/a1.txt" &
$flowc consume access --group A --from-beginning --timeout 3s > "$data/a2.txt"
wait
echo "member 1: $(wc -l < "$data/a1.txt") records, member 2: $(wc -l < "$data/a2.txt") records," \
     "together $(cat "$data"/a1.txt "$data"/a2.txt | sort -u | wc -l) distinct of $(wc -l < examples/data/access.log)"

echo "== group B sees every record"
$flowc consume access --group B --from-beginning --timeout 2s | wc -l
$flowc groups describe A
