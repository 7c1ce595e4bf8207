#!/usr/bin/env bash
# Load: a bounded loopback run (seconds, not minutes) against a real `strata serve` and the
# local dockerd, with the benchmark images (scripts/bench/images.sh). Prints Markdown:
#  1. time from "analysis done" to the first tree page of the 300k-file layer (fresh
#     server process, warm layer cache), target < 1 s;
#  2. p50/p99 of the list, image, tree-page, wasted and search endpoints on cached images,
#     each with 20 concurrent keep-alive clients for 5 s (target p99 < 50 ms, 0 errors);
#  3. all of them at once (clients spread over the paths) while a 1.6 GB image is
#     exported (daemon export path, nothing cached): 0 errors.
# The server runs with `--rate-limit 0`: the per-client limit (50 req/s) would otherwise
# answer most of the load with 429, and this measures the server, not the limiter.
# Usage: bash scripts/load.sh   (results also go to target/bench/load.md)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_apt docker.io debootstrap time python3 curl
ensure_dockerd
log "building strata and loadgen (release)"
cargo build --release --locked -p server --bin strata --example loadgen
STRATA="${CARGO_TARGET_DIR:-$ROOT/target}/release/strata"
LOADGEN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/loadgen"
WORK="${BENCH_DIR:-/var/tmp/strata-bench}"
OUT="$ROOT/target/bench"
mkdir -p "$WORK" "$OUT"
CLIENTS="${LOAD_CLIENTS:-20}"
SECONDS_PER_RUN="${LOAD_SECONDS:-5}"

source "$ROOT/scripts/bench/images.sh"
build_images

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap stop_server EXIT

# start_server [GLOBAL-FLAGS...]: a fresh `strata serve` on $PORT with the load cache.
start_server() {
  stop_server
  "$STRATA" "$@" --cache-dir "$WORK/load-cache" serve --listen "127.0.0.1:$PORT" --job-grace-secs 3600 --rate-limit 0 >"$OUT/load-server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/api/v1/health" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "strata serve did not start; see $OUT/load-server.log" >&2; exit 1
}

image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# start_job ID: POST the analysis (as a same-origin browser would).
start_job() {
  curl -fsS -X POST -H 'Sec-Fetch-Site: same-origin' "$BASE/api/v1/images/$1/analysis" >/dev/null
}

# wait_done ID: polls until the analysis is available.
wait_done() {
  for _ in $(seq 1 1200); do
    curl -fsS "$BASE/api/v1/images/$1/analysis" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "analysis of $1 did not finish in 120 s" >&2; exit 1
}

# largest_layer ID: the index of the image's largest layer.
largest_layer() {
  curl -fsS "$BASE/api/v1/images/$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
layers = d.get("layers", [])
best = max(range(len(layers)), key=lambda i: layers[i]["size"])
print(best)'
}

MANY=$(image_id strata-bench/many-files:latest)
NODE=$(image_id strata-bench/node-single:latest)
BIG=$(image_id strata-bench/big:latest)
rm -rf "$WORK/load-cache"

{
  # This block runs in a subshell (it is piped to tee): stop its server on the way out.
  trap stop_server EXIT
  echo "### First tree page after the analysis is cached (300k files)"
  echo
  start_server
  start_job "$MANY"; wait_done "$MANY"
  start_server   # a fresh process: the layers come from the on-disk cache
  t0=$(date +%s.%N)
  start_job "$MANY"; wait_done "$MANY"
  t1=$(date +%s.%N)
  layer=$(largest_layer "$MANY")
  first=$(curl -fsS -o /dev/null -w '%{time_total}' "$BASE/api/v1/images/$MANY/layers/$layer/tree?view=stacked")
  big_dir=$(curl -fsS "$BASE/api/v1/images/$MANY/layers/$layer/tree?view=stacked&sort=size&limit=1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][0]["name"])')
  second=$(curl -fsS -o /dev/null -w '%{time_total}' "$BASE/api/v1/images/$MANY/layers/$layer/tree?view=stacked&path=$big_dir&sort=size")
  awk -v a="$t0" -v b="$t1" -v f="$first" -v s="$second" -v d="$big_dir" 'BEGIN{
    printf "| step | seconds |\n|---|---|\n";
    printf "| analysis from the warm cache (new process) | %.3f |\n", b-a;
    printf "| first tree page (root, stacked) | %.3f |\n", f;
    printf "| largest directory `/%s`, sorted by size | %.3f |\n", d, s }'
  echo

  echo "### $CLIENTS clients for ${SECONDS_PER_RUN} s per endpoint on cached images"
  echo
  start_job "$NODE"; wait_done "$NODE"
  PATHS=(
    "/api/v1/images"
    "/api/v1/images/$NODE"
    "/api/v1/images/$MANY/layers/$layer/tree?view=stacked"
    "/api/v1/images/$MANY/layers/$layer/tree?view=stacked&path=$big_dir&limit=200"
    "/api/v1/images/$NODE/layers/0/tree?view=layer"
    "/api/v1/images/$NODE/wasted?limit=50"
    "/api/v1/images/$MANY/layers/$layer/search?q=**/*7*&mode=glob&limit=50"
  )
  "$LOADGEN" --base "$BASE" --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" "${PATHS[@]}"
  echo

  echo "### All endpoints at once ($CLIENTS clients spread over them, ${SECONDS_PER_RUN} s) while a 1.6 GB image is exported"
  echo
  start_server --no-layer-store
  start_job "$MANY"; start_job "$NODE"; wait_done "$MANY"; wait_done "$NODE"
  start_job "$BIG"
  sleep 1
  "$LOADGEN" --mixed --base "$BASE" --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" "${PATHS[@]}"
  state=$(curl -fsS "$BASE/api/v1/images/$BIG/analysis" >/dev/null 2>&1 && echo "finished" || echo "still running")
  echo
  echo "(the export was $state when the load run ended)"
  wait_done "$BIG"
} | tee "$OUT/load.md"
