#!/usr/bin/env bash
# The measurements of docs/scaling.md: N workers and S = 1, 2, 4 ... sharded servers on the netns
# test bed (deploy/netns-bed.sh), every host's link limited to RATE, one job per S, and a row per
# job: the step time (timing.json, after the warm-up steps), the bytes each server's and each
# worker's link carried per step (the links' own counters) and the model's network time,
#   t_net = max(N B_s / S, B_w) / R   with B_w the bytes a worker's link carries per step
# measured (in + out, sent one after the other) and B_s = B_w the same per worker at a server.
# Needs root and iproute2.
#
#   deploy/netns-scaling.sh [RATE_MBIT] [N] [S,S,...] [STEPS] [MODEL]
#   (defaults: 200 4 1,2,4 40 784-256-128-10)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rate=${1:-200}
n=${2:-4}
servers=${3:-1,2,4}
steps=${4:-40}
model=${5:-784-256-128-10}
inputs=${model%%-*}
outputs=${model##*-}
name="gfscale$$"
work="$(mktemp -d)"
trap 'bash "$root/deploy/netns-bed.sh" down "$name"; rm -rf "$work"' EXIT

echo "model $model, $n workers, links ${rate} Mbit/s, $steps steps, batch 128; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-3s %9s %9s %14s %14s %11s %9s %9s %9s\n' S "step ms" "net ms" "server B/step" "worker B/step" "model ms" compute reduce update
for s in ${servers//,/ }; do
  bash "$root/deploy/netns-bed.sh" up "$name" "$s" "$n" "${rate}mbit"
  out="$work/s$s"
  bash "$root/deploy/netns-bed.sh" job "$name" "$s" "$n" "$out" --dataset "blobs:$outputs:20000:$inputs" \
    --model "$model" --batch 128 --max-steps "$steps" --lr 0.01 --seed 1 >/dev/null
  bash "$root/deploy/netns-bed.sh" bytes "$name" >"$work/bytes-$s"
  bash "$root/deploy/netns-bed.sh" down "$name"
  # per step over the whole job (the warm-up too): the busiest server link, the mean worker link
  server_b=$(awk -v k="$steps" '/^s/ { b = ($2 + $3) / k; if (b > m) m = b } END { printf "%.0f", m }' "$work/bytes-$s")
  worker_b=$(awk -v k="$steps" '/^w/ { t += ($2 + $3) / k; c++ } END { printf "%.0f", t / c }' "$work/bytes-$s")
  step_ms=$(jq '1000 * .measured_seconds / .steps_measured' "$out/timing.json")
  compute=$(jq '.compute_ms' "$out/timing.json")
  reduce=$(jq '[.server_reduce_ms] + [.servers[]?.reduce_ms] | max' "$out/timing.json")
  update=$(jq '[.server_update_ms] + [.servers[]?.update_ms] | max' "$out/timing.json")
  # what the links alone take: the busiest link's bytes at the rate, and the model's prediction
  net_ms=$(awk -v a="$server_b" -v b="$worker_b" -v r="$rate" 'BEGIN { m = a > b ? a : b; printf "%.1f", 8 * m / (r * 1e3) }')
  model_ms=$(awk -v b="$worker_b" -v n="$n" -v s="$s" -v r="$rate" 'BEGIN { m = n * b / s; if (b > m) m = b; printf "%.1f", 8 * m / (r * 1e3) }')
  printf '%-3s %9.1f %9s %14s %14s %11s %9.2f %9.2f %9.2f\n' "$s" "$step_ms" "$net_ms" "$server_b" "$worker_b" "$model_ms" "$compute" "$reduce" "$update"
done
