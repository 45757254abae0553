#!/usr/bin/env bash
# The first quick-start command: installs what is missing, builds, starts the broker on
# the Northshire example with its SQLite store in .demo/, sends every valid sample as its
# agency, prints each inbox, opens and acknowledges one item, and shows the sender what
# happened. The broker keeps running afterwards; `bash deploy/demo.sh stop` stops it.
#
# The demo runs on a simulated clock that starts on Monday 23 November 2026 at 16:00 GMT
# (office hours), so what it prints is the same every time; move it with
# `dutyhub admin advance-clock 4h`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="$root/.demo"
endpoint="tcp://127.0.0.1:5570"
pidfile="$demo/broker.pid"

stop_broker() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    echo "demo: broker stopped"
  fi
  rm -f "$pidfile"
}

if [ "${1:-}" = "stop" ]; then
  stop_broker
  exit 0
fi

bash deploy/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target dutyhub-broker dutyhub

broker="$root/build/broker/dutyhub-broker"
cli="$root/build/agents/dutyhub"
stop_broker
rm -rf "$demo/data"
mkdir -p "$demo/data"

echo
echo "== starting dutyhub-broker on $endpoint (store: $demo/data/dutyhub.sqlite)"
setsid "$broker" --config config/northshire.yaml --data "$demo/data" --listen "$endpoint" \
  --simulated-clock 2026-11-23T16:00:00Z --insecure-dev >"$demo/broker.log" 2>&1 < /dev/null &
echo $! > "$pidfile"
for _ in $(seq 100); do
  "$cli" --broker "$endpoint" --timeout 0.2 ping >/dev/null 2>&1 && break
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "demo: the broker did not start:"; cat "$demo/broker.log"; exit 1
  fi
done
hub() { "$cli" --broker "$endpoint" "$@"; }

echo
echo "== every valid sample, sent by its agency"
send() {
  echo "-- $2 sends $1"
  hub --as "$2" send "config/samples/$1"
}
send hospital-liaison-non-mobile-injury.json gwh-ed
send hospital-liaison-school-age.json gwh-ed
send mash-request-home-visit.json northshire-mash
send mash-request-gp-information.json northshire-mash
send scbu-discharge-mental-health-no-meeting.json gwh-scbu
send scbu-discharge-unknown-area.json gwh-scbu
send mash-request-unborn-midwifery.json northshire-mash
echo "-- and an invalid one, refused with every reason (exit 3):"
hub --as gwh-ed send config/samples/invalid-nhs-number.json || true

echo
echo "== each inbox, as one of its members"
for pair in alice:hv-north bob:hv-south sam:school-nursing carol:mash priya:perinatal-mh \
            gina:gp-J81012 gina:gp-J81034 eddie:eds tess:triage; do
  hub --as "${pair%%:*}" inbox "${pair#*:}"
  echo
done

item=$(hub --as alice --json inbox hv-north | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["items"][0]["delivery_id"])')
echo "== alice opens the most urgent hv-north item ($item)"
hub --as alice show "$item" > "$demo/show.txt"
head -12 "$demo/show.txt"
echo "   ... (the whole form and its history; opening is recorded, but is not acknowledging)"
echo
echo "== alice acknowledges it, by name, with a note"
hub --as alice ack "$item" --note "Spoke to mother; home visit booked for tomorrow 10:00"
echo
echo "== the hospital asks where its notification went"
hub --as gwh-ed status 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01

echo
echo "== 20 minutes pass on the simulated clock; nobody in the MASH has acknowledged its copy"
hub --as alice admin advance-clock 20m
echo "-- it was due at 16:15, so it has escalated to the MASH managers:"
hub --as erin inbox mash-managers
echo "-- and the manager's overdue list shows it:"
hub --as erin overdue

cat <<EOT

The broker is still running (pid $(cat "$pidfile"), log $demo/broker.log). Try:
  export DUTYHUB_BROKER=$endpoint
  build/agents/dutyhub --as bob inbox hv-south
  build/agents/dutyhub --as dan --json inbox hv-north --all
  build/agents/dutyhub --as alice admin advance-clock 4h   # escalations happen as time moves
  build/agents/dutyhub --as frank watch safeguarding-leads   # events as they happen
  build/agents/dutyhub --help
It runs in --insecure-dev mode: clients say who they are with --as (loopback only).
Stop it with: bash deploy/demo.sh stop
EOT
