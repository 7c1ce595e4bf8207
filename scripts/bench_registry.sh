#!/usr/bin/env bash
# Registry benchmark (issue 10): analysing an image straight from a loopback registry
# (Debian's docker-registry), cold (empty cache: every blob downloaded and indexed
# while it streams) and warm (layer indexes cached), against `skopeo copy` of the same
# image to an OCI directory — the download bound — and dive on the pulled image.
# Usage: bash scripts/bench_registry.sh [IMAGE ...] (default: the bench images of
# scripts/bench.sh, which must have been built once: bash scripts/bench.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_apt docker-registry skopeo python3
ensure_dockerd
log "building strata (release)"
cargo build --release --locked -p server
STRATA="${CARGO_TARGET_DIR:-$ROOT/target}/release/strata"
WORK="${BENCH_DIR:-/var/tmp/strata-bench}/registry"
rm -rf "$WORK" && mkdir -p "$WORK/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/data
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$WORK/config.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
trap 'kill $REG_PID 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done

IMAGES=("$@")
[ ${#IMAGES[@]} -gt 0 ] || IMAGES=(strata-bench/debian:minbase strata-bench/node-multi:latest strata-bench/many-layers:latest)
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

printf '\n%-32s %8s %9s %9s %9s %7s %7s\n' image "MB(gz)" skopeo cold warm "cold/sk" "warm s"
for img in "${IMAGES[@]}"; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "skip $img: not built (bash scripts/bench.sh)"; continue; }
  ref="127.0.0.1:$PORT/bench/${img#strata-bench/}"
  docker tag "$img" "$ref" && docker push -q "$ref" >/dev/null
  sync
  best_sk=999999; best_cold=999999; best_warm=999999
  for _ in 1 2 3; do
    rm -rf "$WORK/oci" "$WORK/cache"
    t0=$(now); skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$WORK/oci:x" >/dev/null; t1=$(now)
    sk=$(secs "$t0" "$t1")
    t0=$(now); STRATA_CACHE_DIR="$WORK/cache" "$STRATA" analyze "registry:$ref" --format json -o /dev/null; t1=$(now)
    cold=$(secs "$t0" "$t1")
    t0=$(now); STRATA_CACHE_DIR="$WORK/cache" "$STRATA" analyze "registry:$ref" --format json -o /dev/null; t1=$(now)
    warm=$(secs "$t0" "$t1")
    best_sk=$(python3 -c "print(min($best_sk, $sk))"); best_cold=$(python3 -c "print(min($best_cold, $cold))"); best_warm=$(python3 -c "print(min($best_warm, $warm))")
  done
  mb=$(du -sm "$WORK/oci/blobs" | cut -f1)
  printf '%-32s %8s %9s %9s %9s %7s %7s\n' "$img" "$mb" "$best_sk" "$best_cold" "$best_warm" "$(ratio "$best_cold" "$best_sk")" "$best_warm"
  docker rmi -f "$ref" >/dev/null
done
echo "(best of 3 runs each; cold = empty STRATA_CACHE_DIR, warm = second run on it)"
