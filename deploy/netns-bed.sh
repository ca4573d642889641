#!/usr/bin/env bash
# A network test bed on one Linux machine: S parameter server hosts and N worker hosts, each a
# network namespace with one link (a veth pair, eth0 in the host) to a bridge in a switch
# namespace, every link rate-limited by tc tbf in both directions. The hosts share this machine's
# CPUs, memory and file system; only the network is theirs. Needs root and iproute2.
#
#   deploy/netns-bed.sh up   NAME S N RATE     hosts NAME-s0..s{S-1} (10.214.0.10+i) and
#                                              NAME-w0..w{N-1} (10.214.0.100+j), switch NAME-sw;
#                                              RATE as tc takes it (200mbit, 1gbit) or "none"
#   deploy/netns-bed.sh job  NAME S N OUT [TRAIN OPTIONS...]
#                                              a job with S sharded servers and N workers started
#                                              by hand on the hosts (server --servers S
#                                              --server-index I, --range-server); the coordinator
#                                              writes OUT, the followers OUT/server-I, logs in
#                                              OUT/bed-logs; exits 0 when every process did
#   deploy/netns-bed.sh bytes NAME               each host's eth0 bytes so far: "HOST RX TX" lines
#   deploy/netns-bed.sh down NAME                deletes the namespaces (and so every link)
#
# GRADFLOW names the gradflow command (default: this checkout's ./gradflow); the tests point it
# at a wrapper of their own JVM's class path. Used by NetnsScalingIT and docs/scaling.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gradflow="${GRADFLOW:-$root/gradflow}"
net=10.214.0.
port=7000

die() { echo "netns-bed.sh: $*" >&2; exit 2; }
server_addr() { echo "${net}$((10 + $1))"; }
worker_addr() { echo "${net}$((100 + $1))"; }

# host NS ADDR PORTNAME RATE: a namespace with eth0 at ADDR, its peer PORTNAME on the bridge
host() {
  local ns=$1 addr=$2 peer=$3 rate=$4
  ip netns add "$ns"
  ip link add "$peer" netns "$sw" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "$peer" master br0
  ip -n "$sw" link set "$peer" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  if [ "$rate" != none ]; then
    # egress of eth0 is the host's upload, egress of the bridge port its download
    ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 100ms
    ip netns exec "$sw" tc qdisc add dev "$peer" root tbf rate "$rate" burst 256kb latency 100ms
  fi
}

up() {
  [ $# -eq 4 ] || die "up NAME S N RATE: expected 4 arguments, got $#"
  local name=$1 s=$2 n=$3 rate=$4
  [[ $s =~ ^[1-9][0-9]?$ && $n =~ ^[1-9][0-9]?$ ]] || die "up: S and N must be 1..99, got S=$s N=$n"
  sw="$name-sw"
  ip netns add "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for ((i = 0; i < s; i++)); do host "$name-s$i" "$(server_addr "$i")" "s$i" "$rate"; done
  for ((j = 0; j < n; j++)); do host "$name-w$j" "$(worker_addr "$j")" "w$j" "$rate"; done
}

down() {
  [ $# -eq 1 ] || die "down NAME: expected 1 argument, got $#"
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$1-(sw|s[0-9]+|w[0-9]+)$" || true); do
    ip netns del "$ns"
  done
}

bytes() {
  [ $# -eq 1 ] || die "bytes NAME: expected 1 argument, got $#"
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$1-(s[0-9]+|w[0-9]+)$" | sort -V || true); do
    echo "${ns#"$1"-} $(ip netns exec "$ns" cat /sys/class/net/eth0/statistics/rx_bytes) $(ip netns exec "$ns" cat /sys/class/net/eth0/statistics/tx_bytes)"
  done
}

# await_port FILE PID: waits (60 s at most) until the server PID wrote its port to FILE
await_port() {
  local file=$1 pid=$2 k
  for ((k = 0; k < 1200; k++)); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || die "a server exited before it served; see ${file%.port}.log"
    sleep 0.05
  done
  die "no port in $file after 60 s"
}

job() {
  [ $# -ge 4 ] || die "job NAME S N OUT [TRAIN OPTIONS...]: expected at least 4 arguments, got $#"
  local name=$1 s=$2 n=$3 out=$4
  shift 4
  local logs="$out/bed-logs" ranges=() i j pid
  pids=()
  # whatever ends the script (a failure, a server that never served) stops what it started
  trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
  mkdir -p "$logs"
  local common=(--port "$port" --workers "$n" --linger-seconds 0 --no-shared-memory "$@")
  for ((i = 1; i < s; i++)); do # the followers first: the coordinator reads them
    ip netns exec "$name-s$i" "$gradflow" server --bind "$(server_addr "$i")" --port-file "$logs/server-$i.port" \
      --out "$out/server-$i" --servers "$s" --server-index "$i" "${common[@]}" >"$logs/server-$i.log" 2>&1 &
    pids+=($!)
    ranges+=(--range-server "$(server_addr "$i"):$port")
  done
  for ((i = 1; i < s; i++)); do await_port "$logs/server-$i.port" "${pids[$((i - 1))]}"; done
  local shard=()
  [ "$s" -gt 1 ] && shard=(--servers "$s" --server-index 0 "${ranges[@]}")
  ip netns exec "$name-s0" "$gradflow" server --bind "$(server_addr 0)" --port-file "$logs/server.port" \
    --out "$out" "${shard[@]}" "${common[@]}" >"$logs/server.log" 2>&1 &
  local coordinator=$!
  pids+=("$coordinator")
  await_port "$logs/server.port" "$coordinator"
  for ((j = 0; j < n; j++)); do
    ip netns exec "$name-w$j" "$gradflow" worker --server "$(server_addr 0):$port" --name "worker-$j" \
      "${ranges[@]}" --rpc-timeout 60 >"$logs/worker-$j.log" 2>&1 &
    pids+=($!)
  done
  # the first process to fail ends the job: the others are stopped rather than left waiting
  local failed=0 done_pid rest
  while [ "${#pids[@]}" -gt 0 ]; do
    if ! wait -n -p done_pid "${pids[@]}"; then
      failed=1
      break
    fi
    rest=()
    for pid in "${pids[@]}"; do [ "$pid" = "$done_pid" ] || rest+=("$pid"); done
    pids=("${rest[@]}")
  done
  if [ "$failed" -ne 0 ]; then
    echo "netns-bed.sh: the job failed; logs in $logs" >&2
    tail -n 20 "$logs"/*.log >&2
    return 1
  fi
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces and tc)"
command -v ip >/dev/null && command -v tc >/dev/null || die "needs ip and tc (Debian package iproute2)"
[ $# -ge 1 ] || die "expected up, job, bytes or down"
cmd=$1
shift
case "$cmd" in
  up) up "$@" ;;
  job) job "$@" ;;
  bytes) bytes "$@" ;;
  down) down "$@" ;;
  *) die "$cmd: expected up, job, bytes or down" ;;
esac
