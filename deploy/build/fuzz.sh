#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time (FUZZTIME, default 10s each).
# Targets are found by name, so a new Fuzz function is picked up without editing this file.
# A failure that left a crashing input in testdata/fuzz fails the run at once. Go's fuzzing
# engine also fails, rarely, with "context deadline exceeded" and no input: a race in its
# coordinator when -fuzztime runs out (golang/go#75804, fixed in Go 1.27; we build with 1.26),
# more frequent on a loaded machine. Such a run is repeated, twice at most.
set -euo pipefail
fuzztime=${FUZZTIME:-10s}
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# saved counts the inputs Go has saved for a target (a new one is a failing input).
saved() {
  if [ -d "$1/testdata/fuzz/$2" ]; then
    find "$1/testdata/fuzz/$2" -type f | wc -l
  else
    echo 0
  fi
}
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    for attempt in 1 2 3; do
      echo "fuzz: ./$dir $target for $fuzztime"
      before=$(saved "$dir" "$target")
      if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "./$dir" 2>&1 | tee "$log"; then
        break
      fi
      after=$(saved "$dir" "$target")
      if [ "$attempt" -lt 3 ] && [ "$after" = "$before" ] && grep -q "context deadline exceeded" "$log"; then
        echo "fuzz: $target: the engine timed out without a failing input; running it again"
        continue
      fi
      status=1
      break
    done
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs -r grep -l '^func Fuzz' | sort)
exit $status
