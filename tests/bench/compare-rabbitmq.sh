#!/usr/bin/env bash
# dutyhub against RabbitMQ, the same workload in the same run on the same machine and disk
# (README.md beside this file): starts a private RabbitMQ node (Debian's rabbitmq-server) on
# loopback, runs rabbitmq-bench (durable classic queue, persistent messages, publisher
# confirms with the same window, consumers with manual acks) and dutyhub-bench in turn,
# `--rounds` times each (in the order ABBA..., so a slow spell of the shared host falls on
# both), prints each round's figures and ratios and the medians, and stops what it started.
#
#   bash tests/bench/compare-rabbitmq.sh [--rounds 3] [--connections 4] [--window 32] [--seconds 10] [--rate 1000]
#                                        [--queue-version 2]   # RabbitMQ's classic queue store, 1 or 2
#                                        [--fresh-nhs-numbers] # dutyhub-bench's, README.md
#   DUTYHUB_PRESET=ci bash tests/bench/compare-rabbitmq.sh   # use build-ci/ instead of build/
#
# RabbitMQ runs tuned for a machine whose few cores are shared: its schedulers do not
# busy-wait (RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS, below; set it to "" for Erlang's
# defaults), and the queue is a version 2 classic queue. Both made it the faster peer here
# (README.md beside this file).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
rounds=3
queue_version=2
args=()
dutyhub_args=()  # for dutyhub-bench alone: RabbitMQ's messages are bytes it does not index
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --rounds=*) rounds=${1#--rounds=}; shift ;;
    --queue-version) queue_version=${2:?--queue-version needs 1 or 2}; shift 2 ;;
    --queue-version=*) queue_version=${1#--queue-version=}; shift ;;
    --fresh-nhs-numbers | --fresh-nhs-numbers=*) dutyhub_args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "compare: --rounds must be a whole number of at least 1, not '$rounds'"; exit 2
fi
if [ "$queue_version" != 1 ] && [ "$queue_version" != 2 ]; then
  echo "compare: --queue-version must be 1 or 2, not '$queue_version'"; exit 2
fi

# What the comparison needs beyond the build: RabbitMQ and its C client.
missing=()
for p in rabbitmq-server librabbitmq-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
bash deploy/install-deps.sh
preset=${DUTYHUB_PRESET:-default}
bin="$root/$( [ "$preset" = default ] && echo build || echo "build-$preset" )"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target dutyhub-bench rabbitmq-bench dutyhub-broker

# Both stores on the same disk: a folder of the repository's (not a tmpfs, where fsync is free).
work="$root/bench-data/compare"
rm -rf "$work"
mkdir -p "$work/rabbitmq"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HOME="$work/rabbitmq"                       # its Erlang cookie lives here
export RABBITMQ_NODENAME="dutyhub-bench@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$((port + 20000 > 65000 ? port - 20000 : port + 20000))
export RABBITMQ_MNESIA_BASE="$work/rabbitmq/mnesia"
export RABBITMQ_LOG_BASE="$work/rabbitmq/log"
export RABBITMQ_ENABLED_PLUGINS_FILE="$work/rabbitmq/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$work/rabbitmq/rabbitmq"   # .conf is added by RabbitMQ
echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
# Erlang's schedulers spin while they wait for work, by default. RabbitMQ's runtime guide
# shows how to turn that off (runtime.html#busy-waiting), as OpenStack's deployers do; on
# two shared cores the spinning holds a core that its own disk writes and its clients wait
# for (without it, its p99 at 1,000/s fell by a factor of five or more, and it published
# faster: tests/bench/README.md).
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="${RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS-+sbwt none +sbwtdcpu none +sbwtdio none}"
# The guest account is loopback-only by default; a bigger message budget than the default
# so the queue is not throttled by its memory alarm on a 24 GiB machine.
printf 'loopback_users.guest = true\nvm_memory_high_watermark.relative = 0.4\n' > "$RABBITMQ_CONFIG_FILE.conf"

stop_rabbitmq() {
  /usr/lib/rabbitmq/bin/rabbitmqctl stop >/dev/null 2>&1 || true
  [ -n "${rabbit_pid:-}" ] && kill "$rabbit_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_rabbitmq EXIT

echo "== starting RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server) on 127.0.0.1:$port (data $work/rabbitmq;" \
  "Erlang flags '${RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS}'; classic queue version $queue_version)"
/usr/lib/rabbitmq/bin/rabbitmq-server >"$work/rabbitmq/server.out" 2>&1 &
rabbit_pid=$!
# await_startup needs the node to be reachable already: ask again until it is (2 minutes).
started=""
for _ in $(seq 120); do
  if /usr/lib/rabbitmq/bin/rabbitmqctl await_startup --timeout 5 >/dev/null 2>&1; then started=1; break; fi
  kill -0 "$rabbit_pid" 2>/dev/null || break
  sleep 1
done
if [ -z "$started" ]; then
  echo "compare: RabbitMQ did not start:"; tail -30 "$work/rabbitmq/server.out"; exit 1
fi

run_dutyhub() {
  echo "== round $1: dutyhub-bench"
  "$bin/tests/dutyhub-bench" --json --dir "$work/dutyhub" ${args[@]+"${args[@]}"} \
    ${dutyhub_args[@]+"${dutyhub_args[@]}"} > "$work/dutyhub-$1.json"
}
run_rabbitmq() {
  # Messages of the size dutyhub's bench measured for its notifications, and as many
  # consumer connections as it had duty workers acknowledging (the same each run).
  local bytes consumers
  bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["notification_bytes"])' "$work/dutyhub-1.json")
  consumers=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["acknowledging_connections"])' \
    "$work/dutyhub-1.json")
  echo "== round $1: rabbitmq-bench (messages of $bytes bytes, $consumers consumers)"
  "$bin/tests/rabbitmq-bench" --port "$port" --bytes "$bytes" --consumers "$consumers" \
    --queue-version "$queue_version" ${args[@]+"${args[@]}"} \
    > "$work/rabbitmq-$1.json"
}
for round in $(seq "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then run_dutyhub "$round"; run_rabbitmq "$round"
  else run_rabbitmq "$round"; run_dutyhub "$round"; fi
done
stop_rabbitmq
trap - EXIT

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
runs = [(json.load(open("%s/dutyhub-%d.json" % (work, i))), json.load(open("%s/rabbitmq-%d.json" % (work, i))))
        for i in range(1, rounds + 1)]
d0 = runs[0][0]
# (name, figure's path, lower is better)
figures = [
    ("confirmed publishes per second", ("publish", "per_second"), False),
    ("publish-to-confirm p50 ms at %d/s" % d0["fixed_rate"], ("latency_at_fixed_rate", "p50_ms"), True),
    ("publish-to-confirm p99 ms at %d/s" % d0["fixed_rate"], ("latency_at_fixed_rate", "p99_ms"), True),
    ("publish-to-confirm p99.9 ms at %d/s" % d0["fixed_rate"], ("latency_at_fixed_rate", "p999_ms"), True),
    ("acknowledgements (consume-and-ack) per second", ("acknowledge", "per_second"), False),
]
def value(run, path):
    return run[path[0]][path[1]]
def ratio(a, b, lower_better):
    if not a or not b:
        return float("nan")
    return b / a if lower_better else a / b
print()
print("same machine, same disk, same run: %d connections x %d in flight, %d-byte messages, %d round(s);"
      % (d0["connections"], d0["window"], d0["notification_bytes"], rounds))
print("RabbitMQ's queue: a durable classic queue, version %d; dutyhub's children's NHS numbers: %s"
      % (runs[0][1]["queue_version"], "fresh each" if d0["fresh_nhs_numbers"] else "the samples' five"))
for i, (d, r) in enumerate(runs, 1):
    print()
    print("round %d %-40s %14s %14s %8s" % (i, "", "dutyhub", "RabbitMQ", "ratio"))
    for name, path, low in figures:
        a, b = value(d, path), value(r, path)
        print("%-48s %14.2f %14.2f %7.2fx" % (name, a, b, ratio(a, b, low)))
    print("%-48s %14.2f" % ("  the floor's p99 ms (one thread, one sync each)", d["floor_at_fixed_rate"]["p99_ms"]))
print()
print("%-48s %14s %14s %8s" % ("median of the rounds", "dutyhub", "RabbitMQ", "ratio"))
medians = {}
for name, path, low in figures:
    a = statistics.median(value(d, path) for d, _ in runs)
    b = statistics.median(value(r, path) for _, r in runs)
    # The ratio is the median of each round's own ratio: the two ran minutes apart at most.
    ratios = [k for k in (ratio(value(d, path), value(r, path), low) for d, r in runs) if k == k]  # not NaN
    k = statistics.median(ratios) if ratios else float("nan")
    medians[path[0] + "." + path[1]] = {"dutyhub": a, "rabbitmq": b, "ratio": k}
    print("%-48s %14.2f %14.2f %7.2fx" % (name, a, b, k))
print("%-48s %14.2f" % ("  the floor's p99 ms (one thread, one sync each)",
                         statistics.median(d["floor_at_fixed_rate"]["p99_ms"] for d, _ in runs)))
print("(ratio: how many times better dutyhub is; SQLite one row per commit on this disk: %.0f/s;"
      % statistics.median(d["sqlite_one_row_per_commit_per_second"] for d, _ in runs))
print(" the floor: the same paced publishes to a server of one thread that syncs each to this disk)")
print(json.dumps({"rounds": [{"dutyhub": d, "rabbitmq": r} for d, r in runs], "medians": medians}))
PY
rm -rf "$work"
