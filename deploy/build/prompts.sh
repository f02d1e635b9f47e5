#!/usr/bin/env bash
# Speaks the kiosk page's prompts (daemon/web/static/prompts/prompts.tsv) with espeak-ng and
# encodes them as small mono Ogg Opus files, <language>/<key>.ogg next to the table. Run by
# `make prompts`; the files are committed, so a build needs neither tool. Same input, same files
# (fixed stream serial, no metadata).
set -euo pipefail
dir=${1:-daemon/web/static/prompts}
declare -A voice=([en]=en-gb [zh]=cmn)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while IFS=$'\t' read -r key lang text; do
  [[ -z "$key" || "$key" == \#* ]] && continue
  v=${voice[$lang]:?"prompts: no voice for language $lang"}
  mkdir -p "$dir/$lang"
  espeak-ng -v "$v" -s 150 -w "$tmp/p.wav" "$text"
  opusenc --quiet --bitrate 16 --speech --downmix-mono --serial 1 --discard-comments "$tmp/p.wav" "$dir/$lang/$key.ogg"
  n=$((n + 1))
done < "$dir/prompts.tsv"
echo "prompts: $n files in $dir ($(du -sh "$dir" | cut -f1))"
