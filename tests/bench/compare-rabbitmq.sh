#!/usr/bin/env bash
# dutyhub against RabbitMQ, the same workload in the same run on the same machine and disk
# (README.md beside this file): starts a private RabbitMQ node (Debian's rabbitmq-server) on
# loopback, runs rabbitmq-bench (durable classic queue, persistent messages, publisher
# confirms with the same window, consumers with manual acks) and dutyhub-bench, prints both
# and the ratios, and stops what it started.
#
#   bash tests/bench/compare-rabbitmq.sh [--connections 4] [--window 32] [--seconds 10] [--rate 1000]
#   DUTYHUB_PRESET=ci bash tests/bench/compare-rabbitmq.sh   # use build-ci/ instead of build/
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
args=("$@")

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
# The guest account is loopback-only by default; a bigger message budget than the default
# so the queue is not throttled by its memory alarm on a 24 GiB machine.
printf 'loopback_users.guest = true\nvm_memory_high_watermark.relative = 0.4\n' > "$RABBITMQ_CONFIG_FILE.conf"

stop_rabbitmq() {
  /usr/lib/rabbitmq/bin/rabbitmqctl stop >/dev/null 2>&1 || true
  [ -n "${rabbit_pid:-}" ] && kill "$rabbit_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_rabbitmq EXIT

echo "== starting RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server) on 127.0.0.1:$port (data $work/rabbitmq)"
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

echo "== dutyhub-bench"
"$bin/tests/dutyhub-bench" --json --dir "$work/dutyhub" "${args[@]}" > "$work/dutyhub.json"
bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["notification_bytes"])' "$work/dutyhub.json")
echo "== rabbitmq-bench (messages of $bytes bytes)"
"$bin/tests/rabbitmq-bench" --port "$port" --bytes "$bytes" "${args[@]}" > "$work/rabbitmq.json"
stop_rabbitmq
trap - EXIT

python3 - "$work/dutyhub.json" "$work/rabbitmq.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
print()
print("same machine, same disk, same run: %d connections x %d in flight, %d-byte messages"
      % (d["connections"], d["window"], d["notification_bytes"]))
print("%-48s %14s %14s %8s" % ("", "dutyhub", "RabbitMQ", "ratio"))
def row(name, a, b, better_low=False):
    ratio = (b / a if better_low else a / b) if a and b else float("nan")
    print("%-48s %14.2f %14.2f %7.2fx" % (name, a, b, ratio))
row("confirmed publishes per second", d["publish"]["per_second"], r["publish"]["per_second"])
row("publish-to-confirm p50 ms at %d/s" % d["fixed_rate"], d["latency_at_fixed_rate"]["p50_ms"], r["latency_at_fixed_rate"]["p50_ms"], True)
row("publish-to-confirm p99 ms at %d/s" % d["fixed_rate"], d["latency_at_fixed_rate"]["p99_ms"], r["latency_at_fixed_rate"]["p99_ms"], True)
row("publish-to-confirm p99.9 ms at %d/s" % d["fixed_rate"], d["latency_at_fixed_rate"]["p999_ms"], r["latency_at_fixed_rate"]["p999_ms"], True)
row("acknowledgements (consume-and-ack) per second", d["acknowledge"]["per_second"], r["acknowledge"]["per_second"])
print("(ratio: how many times better dutyhub is; SQLite one row per commit on this disk: %.0f/s)"
      % d["sqlite_one_row_per_commit_per_second"])
print(json.dumps({"dutyhub": d, "rabbitmq": r}))
PY
rm -rf "$work"
