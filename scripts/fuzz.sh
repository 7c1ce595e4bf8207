#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for SECONDS (default 20); exits
# non-zero if any target crashes (panic, overflow, timeout, OOM), naming the reproducer.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Works on stable Rust: cargo-fuzz passes nightly-only flags (-Zsanitizer), which
# RUSTC_BOOTSTRAP=1 lets stable rustc accept. cargo-fuzz 0.13.2 is installed if missing.
#
# Environment:
#   FUZZ_SANITIZER   none (default: safe Rust, ~2x the executions) or address
#   FUZZ_TARGET_DIR  build dir (default target/fuzz; kept separate from the workspace's
#                    because the coverage flags change every crate's fingerprint)
#   FUZZ_JOBS        parallel libFuzzer workers per target (default 1)
#   FUZZ_NICE        nice level for the fuzzing processes (default 10)
#
# Incremental: a warm run rebuilds only what changed (about 1-2 minutes after an edit in
# app/, seconds when nothing changed; a cold build of all targets takes 4-6 minutes on two
# busy cores). The working corpus persists in fuzz/corpus/<target> (git-ignored) and is
# seeded from the checked-in fuzz/seeds/<target>, with a dictionary from fuzz/dicts/; crashes
# land in fuzz/artifacts/<target>/.
# Reproduce one with: <target-binary> fuzz/artifacts/<target>/crash-…  (path printed below).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SECS="${1:-20}"
shift || true
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
SAN="${FUZZ_SANITIZER:-none}"
TD="${FUZZ_TARGET_DIR:-$ROOT/target/fuzz}"
JOBS="${FUZZ_JOBS:-1}"
NICE="${FUZZ_NICE:-10}"
CARGO_FUZZ_VERSION=0.13.2
export RUSTC_BOOTSTRAP=1

ensure_rust
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 1.5 minutes)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

mapfile -t ALL < <(cargo fuzz list)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
[ ${#TARGETS[@]} -gt 0 ] || { echo "no fuzz targets found" >&2; exit 2; }

log "building ${#TARGETS[@]} fuzz target(s) (sanitizer: $SAN, dir: $TD)"
start=$(date +%s)
build=(cargo fuzz build --sanitizer "$SAN" --target-dir "$TD")
# One cargo invocation for all targets, so app/ compiles once.
if [ $# -gt 0 ] && [ ${#TARGETS[@]} -eq 1 ]; then build+=("${TARGETS[0]}"); fi
nice -n "$NICE" "${build[@]}"
log "build took $(($(date +%s) - start)) s"

BIN_DIR="$TD/x86_64-unknown-linux-gnu/release"
LOG_DIR="$TD/logs"
mkdir -p "$LOG_DIR"
failed=()
printf '%-22s %12s %8s %8s %8s %8s %s\n' target execs exec/s cov edges ft result >"$LOG_DIR/summary.txt"
for t in "${TARGETS[@]}"; do
  bin="$BIN_DIR/$t"
  [ -x "$bin" ] || { echo "fuzz target $t was not built ($bin)" >&2; exit 2; }
  corpus="fuzz/corpus/$t"
  seeds="fuzz/seeds/$t"
  artifacts="fuzz/artifacts/$t/"
  mkdir -p "$corpus" "$seeds" "$artifacts"
  log "fuzzing $t for ${SECS}s"
  args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536
    -print_final_stats=1 -artifact_prefix="$artifacts")
  case "$t" in
    tar_split) dict=fuzz/dicts/tarsplit.dict ;;
    json_docs | archive) dict=fuzz/dicts/json.dict ;;
    *) dict=fuzz/dicts/tar.dict ;;
  esac
  if [ -f "$dict" ]; then args+=(-dict="$dict"); fi
  if [ "$JOBS" -gt 1 ]; then args+=(-fork="$JOBS" -ignore_crashes=0); fi
  set +e
  nice -n "$NICE" "$bin" "${args[@]}" "$corpus" "$seeds" >"$LOG_DIR/$t.log" 2>&1
  rc=$?
  set -e
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$LOG_DIR/$t.log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG_DIR/$t.log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOG_DIR/$t.log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  # Instrumented edges in the binary (app and its dependencies), the denominator of cov.
  edges=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline.*/\1/p' "$LOG_DIR/$t.log" | head -1)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="CRASH (exit $rc)"
    failed+=("$t")
    echo "---- $t failed; last lines of $LOG_DIR/$t.log:" >&2
    grep -E -A1 "panicked|ERROR|SUMMARY|Test unit written" "$LOG_DIR/$t.log" | head -20 >&2 || true
    echo "reproduce: $bin $(grep -o "$artifacts[^ ]*" "$LOG_DIR/$t.log" | tail -1)" >&2
  fi
  printf '%-22s %12s %8s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${edges:-?}" \
    "${ft:-?}" "$result" \
    >>"$LOG_DIR/summary.txt"
done
cat "$LOG_DIR/summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (artifacts under fuzz/artifacts/)" >&2
  exit 1
fi
log "no crashes in ${#TARGETS[@]} target(s) x ${SECS}s"
