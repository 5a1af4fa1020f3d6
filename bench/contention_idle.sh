#!/usr/bin/env bash
# An idle machine: libgomp's default spin, seqcli's short spin (GOMP_SPINCOUNT=1000) and a
# passive wait, one training at a time, alternating, three rounds (single runs vary ±15%).
# Usage: bash bench/contention_idle.sh   (run alone; prints tokens/s, median of the log windows)
set -euo pipefail
cd "$(dirname "$0")/.."
run() { env "$1" python -m seqcli train-lm examples/shakespeare.txt -o "/tmp/seqcli-idle-$2" --max-steps 200 \
    --quiet --overwrite --device cpu --threads 2; }
rate() { python -c "
import json, statistics
rates = [json.loads(line)['rate'] for line in open('/tmp/seqcli-idle-$1/metrics.jsonl') if 'rate' in line]
print(round(statistics.median(rates[1:])))"; }
for round in 1 2 3; do
    for config in GOMP_SPINCOUNT=300000 GOMP_SPINCOUNT=1000 OMP_WAIT_POLICY=PASSIVE; do
        run "$config" a
        echo "round $round $config alone $(rate a)"
    done
done
