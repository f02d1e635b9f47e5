#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time (FUZZTIME, default 10s each).
# Targets are found by name, so a new Fuzz function is picked up without editing this file.
set -euo pipefail
fuzztime=${FUZZTIME:-10s}
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzz: ./$dir $target for $fuzztime"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "./$dir"; then
      status=1
    fi
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs -r grep -l '^func Fuzz' | sort)
exit $status
