#!/bin/bash
# The systemd units in deploy/, as an operator installs them, checked offline:
# - each is a unit systemd accepts (`systemd-analyze verify`), its binary the one just built;
# - each is hardened to an exposure of 2.0 or less (`systemd-analyze security --offline`);
# - only the broker runs as `dutyhub`, the account that owns the store: every adapter, whose
#   socket or folder faces another system, runs as an account of its own;
# - every unit that can fail for a configuration mistake does not restart for one (exit 2).
# Usage: check_units.sh SOURCE_DIR BUILD_DIR
set -u
source_dir=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }
declare -A binary=(
  [dutyhub-broker]="$build/broker/dutyhub-broker"
  [dutyhub-folder]="$build/agents/folder/dutyhub-folder"
  [dutyhub-hl7]="$build/agents/hl7/dutyhub-hl7"
  [dutyhub-http]="$build/agents/http/dutyhub-http"
  [dutyhub-web]="$build/agents/web/dutyhub-web"
)
declare -A accounts=()
for unit in "$source_dir"/deploy/*.service; do
  name=$(basename "$unit" .service)
  [ -n "${binary[$name]:-}" ] || { fail "$name: a unit this check does not know"; continue; }
  [ -x "${binary[$name]}" ] || { fail "$name: ${binary[$name]} is not built"; continue; }
  grep -q "^ExecStart=/usr/local/bin/$name " "$unit" || fail "$name: ExecStart is not /usr/local/bin/$name"
  sed "s|/usr/local/bin/$name |${binary[$name]} |" "$unit" > "$work/$name.service"
  if ! out=$(systemd-analyze verify --man=no "$work/$name.service" 2>&1) || [ -n "$out" ]; then
    fail "$name: systemd-analyze verify: $out"
  fi
  if ! systemd-analyze security --offline=yes --threshold=20 "$work/$name.service" > "$work/$name.security" 2>&1; then
    fail "$name: exposure above 2.0: $(grep -o 'Overall exposure level.*' "$work/$name.security")"
  fi
  user=$(sed -n 's/^User=//p' "$unit")
  [ -n "$user" ] || fail "$name: no User= (it would run as root)"
  if [ -n "${accounts[$user]:-}" ]; then fail "$name and ${accounts[$user]} share the account $user"; fi
  accounts[$user]=$name
  if [ "$name" = dutyhub-broker ]; then
    [ "$user" = dutyhub ] || fail "the broker runs as $user, not dutyhub"
  elif [ "$user" = dutyhub ]; then
    fail "$name runs as dutyhub, the store's account"
  fi
  grep -q "^RestartPreventExitStatus=2$" "$unit" || fail "$name: restarts after a configuration mistake (exit 2)"
  echo "$name: checked: $(grep -o "exposure level.*" "$work/$name.security"), as $user"
done
exit "$status"
