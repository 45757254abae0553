#!/usr/bin/env bash
# The first quick-start command: installs what is missing, builds, starts the broker on
# the Northshire example with its SQLite store in .demo/, sends every valid sample as its
# agency, prints each inbox, opens and acknowledges one item, and shows the sender what
# happened. Then it starts dutyhub-web, the duty, manager and sender pages, on
# http://127.0.0.1:8080 and prints the demo sign-ins. The broker and the pages keep running
# afterwards; `bash deploy/demo.sh stop` stops both.
#
# The demo runs on a simulated clock that starts on Monday 23 November 2026 at 16:00 GMT
# (office hours), so the same things happen every time (only the ids the hub makes differ);
# move it with
# `dutyhub admin advance-clock 4h`.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="$root/.demo"
endpoint="tcp://127.0.0.1:5570"
pidfile="$demo/broker.pid"
web_pidfile="$demo/web.pid"
web_address="127.0.0.1:8080"
keys="$demo/keys"
people="alice bob carol sam priya gina eddie dan erin frank tess"
agencies="gwh-ed gwh-scbu northshire-mash"
principals="$agencies $people web"   # web: dutyhub-web's own key, a gateway in the configuration

# stop_process PIDFILE BINARY: SIGTERM, and up to 30 s for it to finish what it was doing
# (the broker answers what is in flight and closes its store); then SIGKILL, said so. Only a
# process running this clone's BINARY: a pidfile left from before a reboot may name a
# process id now someone else's.
stop_process() {
  local pid
  pid=$(cat "$1" 2>/dev/null || true)
  local command_line=""
  [ -n "$pid" ] && command_line=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
  if [[ "$command_line" == "$2 "* ]]; then
    kill -TERM "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: $(basename "$2") (pid $pid) did not stop in 30 s: killed" >&2
      kill -KILL "$pid"
    fi
    echo "demo: $(basename "$2") stopped"
  fi
  rm -f "$1"
}
stop_all() {
  stop_process "$web_pidfile" "$root/build/agents/web/dutyhub-web"
  stop_process "$pidfile" "$root/build/broker/dutyhub-broker"
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  exit 0
fi
# Run with sudo, the stop must be too (the processes are root's).
again=""; [ -n "${SUDO_USER:-}" ] && again="sudo "

bash deploy/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target dutyhub-broker dutyhub dutyhub-web

broker="$root/build/broker/dutyhub-broker"
cli="$root/build/agents/dutyhub"
web="$root/build/agents/web/dutyhub-web"
stop_all

# Every connection is CURVE: a key pair for the broker and for each agency and person,
# made once, kept in .demo/keys (git ignores .demo/); secrets readable by their owner only.
if [ ! -f "$keys/broker.key" ]; then
  echo "== making CURVE keys for the broker and the Northshire principals in $keys"
  mkdir -p "$keys"
  chmod 700 "$keys"
  "$cli" keygen --out "$keys/broker.key" > "$keys/broker.pub"
fi
for who in $principals; do   # any missing (a key folder from an older demo has no web key)
  [ -f "$keys/$who.key" ] || "$cli" keygen --out "$keys/$who.key" --broker-key "$keys/broker.pub" > "$keys/$who.pub"
done
rm -rf "$demo/data"
mkdir -p "$demo/data"

echo
echo "== starting dutyhub-broker on $endpoint (store: $demo/data/dutyhub.sqlite)"
setsid "$broker" --config config/northshire.yaml --data "$demo/data" --listen "$endpoint" \
  --simulated-clock 2026-11-23T16:00:00Z --key "$keys/broker.key" --keys "$keys" \
  >"$demo/broker.log" 2>&1 < /dev/null &
echo $! > "$pidfile"
# A step that fails from here on stops what the demo started, rather than leave it running.
trap 'echo "demo: a step failed; stopping the broker and pages" >&2; stop_all' ERR
answered=""
for _ in $(seq 100); do
  "$cli" --broker "$endpoint" --key "$keys/frank.key" --timeout 0.2 ping >/dev/null 2>&1 && { answered=yes; break; }
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "demo: the broker did not start:"; cat "$demo/broker.log"; exit 1
  fi
done
if [ -z "$answered" ]; then
  echo "demo: the broker did not answer on $endpoint within 20 s:"; cat "$demo/broker.log"; false
fi
# hub NAME ARGS...: the command line as NAME, authenticated by NAME's key.
hub() {
  local who=$1
  shift
  "$cli" --broker "$endpoint" --key "$keys/$who.key" "$@"
}

echo
echo "== every valid sample, sent by its agency"
send() {
  echo "-- $2 sends $1"
  hub "$2" send "config/samples/$1"
}
send hospital-liaison-non-mobile-injury.json gwh-ed
send hospital-liaison-school-age.json gwh-ed
send mash-request-home-visit.json northshire-mash
send mash-request-gp-information.json northshire-mash
send scbu-discharge-mental-health-no-meeting.json gwh-scbu
send scbu-discharge-unknown-area.json gwh-scbu
send mash-request-unborn-midwifery.json northshire-mash
echo "-- and an invalid one, refused with every reason (exit 3):"
hub gwh-ed send config/samples/invalid-nhs-number.json || true

echo
echo "== each inbox, as one of its members"
for pair in alice:hv-north bob:hv-south sam:school-nursing carol:mash priya:perinatal-mh \
            gina:gp-J81012 gina:gp-J81034 eddie:eds tess:triage; do
  hub "${pair%%:*}" inbox "${pair#*:}"
  echo
done

item=$(hub alice --json inbox hv-north | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["items"][0]["delivery_id"])')
echo "== alice opens the most urgent hv-north item ($item)"
hub alice show "$item" > "$demo/show.txt"
head -12 "$demo/show.txt"
echo "   ... (the whole form and its history; opening is recorded, but is not acknowledging)"
echo
echo "== alice acknowledges it, by name, with a note"
hub alice ack "$item" --note "Spoke to mother; home visit booked for tomorrow 10:00"
echo
echo "== the hospital asks where its notification went"
hub gwh-ed status 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01

echo
echo "== 20 minutes pass on the simulated clock; nobody in the MASH has acknowledged its copy"
hub frank admin advance-clock 20m   # frank is the hub's administrator
echo "-- it was due at 16:15, so it has escalated to the MASH managers:"
hub erin inbox mash-managers
echo "-- and the manager's overdue list shows it:"
hub erin overdue

echo
echo "== starting dutyhub-web, the pages, on http://$web_address"
# Demo sign-ins: each person as themselves, and one member of staff per agency, who sees
# only the sender page. The passwords are for this demo only; they are printed below.
accounts="$demo/web-accounts.yaml"
umask 077
{
  echo "accounts:"
  for who in $people; do
    echo "  $who: {password: \"$(echo "$who-northshire" | "$web" hash-password)\"}"
  done
  for agency in $agencies; do
    echo "  $agency-staff: {acts_as: $agency, password: \"$(echo "$agency-staff-northshire" | "$web" hash-password)\"}"
  done
} > "$accounts"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/metrics.token"
cat > "$demo/web.yaml" <<EOW
listen: $web_address
broker: $endpoint
gateway: web
key: $keys/web.key
accounts: $accounts
metrics_token_file: $demo/metrics.token
EOW
umask 022
setsid "$web" --config "$demo/web.yaml" >"$demo/web.log" 2>&1 < /dev/null &
echo $! > "$web_pidfile"
listening=""
for _ in $(seq 100); do
  grep -q "dutyhub-web listening" "$demo/web.log" 2>/dev/null && { listening=yes; break; }
  if ! kill -0 "$(cat "$web_pidfile")" 2>/dev/null; then
    echo "demo: dutyhub-web did not start:"; cat "$demo/web.log"; false
  fi
  sleep 0.1
done
if [ -z "$listening" ]; then
  echo "demo: dutyhub-web did not listen on $web_address within 10 s:"; cat "$demo/web.log"; false
fi

cat <<EOT

The pages are at http://$web_address (log $demo/web.log). Sign in as:
  alice / alice-northshire     health visitor, hv-north (one item left there; the other was acknowledged above)
  dan   / dan-northshire       health visiting team manager: the manager page
  erin  / erin-northshire      MASH team manager: the escalated MASH item is on her manager page
  gwh-ed-staff / gwh-ed-staff-northshire   the hospital's staff: find notification 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01
  (every person: NAME / NAME-northshire; each agency: AGENCY-staff / AGENCY-staff-northshire)
Prometheus: curl -H "Authorization: Bearer \$(cat $demo/metrics.token)" http://$web_address/metrics

The broker is still running (pid $(cat "$pidfile"), log $demo/broker.log), with CURVE:
each agency and person is known by its key in $keys. Try:
  export DUTYHUB_BROKER=$endpoint
  build/agents/dutyhub --key $keys/bob.key inbox hv-south
  build/agents/dutyhub --key $keys/dan.key --json inbox hv-north --all
  build/agents/dutyhub --key $keys/frank.key admin advance-clock 4h   # escalations happen as time moves
  build/agents/dutyhub --key $keys/frank.key watch safeguarding-leads # events as they happen
  build/agents/dutyhub --key $keys/frank.key audit verify             # the audit's hash chain
  build/agents/dutyhub --help
Stop both with: ${again}bash deploy/demo.sh stop
EOT
