#!/bin/bash
# Each bench, given --dir a folder holding files it did not make, exits 2 naming the folder
# and removes nothing (tests/bench/bench_folder.h). Usage: refuses_a_foreign_folder.sh BIN...
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for bin in "$@"; do
  folder="$work/$(basename "$bin")"
  mkdir -p "$folder/data"
  echo "years of work" > "$folder/thesis.txt"
  echo "a real store" > "$folder/data/dutyhub.sqlite"
  "$bin" --dir "$folder" > "$work/out" 2> "$work/err"
  rc=$?
  if [ "$rc" -ne 2 ]; then echo "FAIL: $bin exited $rc, not 2"; status=1; fi
  grep -q "$folder holds files a bench did not make" "$work/err" \
    || { echo "FAIL: $bin did not name the folder:"; cat "$work/err"; status=1; }
  [ "$(cat "$folder/thesis.txt" 2>/dev/null)" = "years of work" ] \
    || { echo "FAIL: $bin removed or changed thesis.txt"; status=1; }
  [ -f "$folder/data/dutyhub.sqlite" ] || { echo "FAIL: $bin removed data/"; status=1; }
  [ ! -e "$folder/.dutyhub-bench-folder" ] || { echo "FAIL: $bin marked the folder"; status=1; }
done
[ "$status" -eq 0 ] && echo "every bench refused the folder and left it as it was"
exit "$status"
