#!/usr/bin/env bash
# `make bench`: every Go benchmark in the module next to its peer, run on the same machine in the
# same session and gathered by benchtab into one table, bench.json and the README's performance
# section. Where a peer exists, our rounds and the peer's alternate, so that load from anything
# else on the machine falls on both alike.
set -euo pipefail
count=${BENCH_COUNT:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
root=$(pwd)

echo "bench: Go benchmarks without a peer, $count runs each" >&2
go test -run '^$' -bench . -skip '^Benchmark(Face|Gallery|MRZ)' -count "$count" ./... | tee "$out/go.txt" >&2

echo "bench: face pipeline and its python3-opencv peer, $count alternating rounds, one OpenCV thread" >&2
go test -c -o "$out/face.test" ./daemon/face
for i in $(seq "$count"); do
  (cd daemon/face && "$out/face.test" -test.run '^$' -test.bench '^BenchmarkFace$' -test.count 1) | tee -a "$out/go.txt" >&2
  /usr/bin/python3 deploy/build/face_peer.py 1 "$root" 2>/dev/null >> "$out/face_peer.jsonl"
done
# Model load and RSS in a fresh process of its own, so nothing else inflates the figure.
(cd daemon/face && "$out/face.test" -test.run '^$' -test.bench '^BenchmarkFaceLoad$' -test.benchtime 3x -test.count 1) | tee -a "$out/go.txt" >&2

echo "bench: 1:N gallery and FAISS IndexFlatIP (python3-faiss, one thread), $count alternating rounds" >&2
go test -c -o "$out/match.test" ./daemon/match
mkdir -p "$out/vectors"
for i in $(seq "$count"); do
  (cd daemon/match && EDGEID_BENCH_VECDIR="$out/vectors" "$out/match.test" -test.run '^$' -test.bench '^BenchmarkGallery$' -test.count 1) | tee -a "$out/go.txt" >&2
  /usr/bin/python3 deploy/build/gallery_peer.py "$out/vectors" >> "$out/gallery_peer.jsonl"
done

echo "bench: MRZ reader, one thread (GOMAXPROCS=1, OPENCV_FOR_THREADS_NUM=1), $count runs" >&2
(cd daemon/mrzocr && GOMAXPROCS=1 OPENCV_FOR_THREADS_NUM=1 go test -run '^$' -bench '^BenchmarkMRZ$' -count "$count" .) | tee -a "$out/go.txt" >&2

echo "bench: MRZ accuracy next to Tesseract 5 (tesseract-ocr, MRZ whitelist, one thread) on the same images" >&2
go run ./deploy/build/mrz-synth -n "${MRZ_SYNTH_N:-60}" -seed 101 "$out/mrz-synth" >/dev/null
go run ./deploy/build/mrz-synth -n "${MRZ_SYNTH_N:-60}" -seed 102 -width 1280 -height 720 "$out/mrz-synth-720" >/dev/null
{
  for set in "$out/mrz-synth" "$out/mrz-synth-720" ../shared/datasets/mrz-dev; do
    [ -f "$set/truth.tsv" ] || { echo "($set absent: skipped)"; continue; }
    echo "set: $(basename "$set")"  # mrz-synth: seed 101, 640x480..1920x1080; mrz-synth-720: seed 102
    OPENCV_FOR_THREADS_NUM=1 bin/edgeid mrz eval --peer tesseract "$set"
  done
} | tee "$out/mrz.txt" >&2
/usr/bin/python3 deploy/build/readme-block.py README.md mrz "$out/mrz.txt"

echo "bench: fleet simulation, ${FLEET_SIM_KIOSKS:-10000} kiosks on mosquitto and on the 3-node NATS cluster" >&2
deploy/build/bench-fleet.sh

go run ./deploy/build/benchtab -go "$out/go.txt" \
  -peers "face=$out/face_peer.jsonl,faceLoad=$out/face_peer.jsonl,gallery=$out/gallery_peer.jsonl" \
  -json bench.json -readme README.md
