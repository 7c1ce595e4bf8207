#!/usr/bin/env bash
# Shared set-up steps for run.sh and test.sh: each installs what is missing and skips
# what is already present, so both work on a fresh Debian machine as root and are fast
# on a prepared one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$HOME/.local/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
TRUNK_VERSION=0.21.14

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
# ensure_apt PKG... installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 2; }
  rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
    || { log "adding the wasm32 target"; rustup target add wasm32-unknown-unknown; }
}

ensure_trunk() {
  if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
    log "installing trunk $TRUNK_VERSION (about 10 minutes on 2 cores)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
  fi
}

ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$want"; then
    log "installing wasm-bindgen-cli $want (about 3 minutes)"
    # Not --locked: the registry mirror lags behind the CLI's own lockfile.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_node_tools() {
  command -v npm >/dev/null || ensure_apt nodejs npm
  if ! "$ROOT/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version 132"; then
    log "installing wasm-opt (npm binaryen)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_frontend_tools() {
  ensure_rust
  ensure_node_tools
  ensure_trunk
  ensure_wasm_bindgen
}

build_frontend() {
  log "building the UI (trunk build --release)"
  (cd "$ROOT" && trunk build --release --locked)
}

# Starts dockerd in the background when no daemon answers (needs docker.io installed).
ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if ! command -v dockerd >/dev/null; then
    echo "dockerd not installed" >&2; return 1
  fi
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd in the background (log: /var/log/strata-dockerd.log)"
    as_root rm -f /var/run/docker.pid
    as_root sh -c 'nohup dockerd >/var/log/strata-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not answer within 60 s; see /var/log/strata-dockerd.log" >&2
  tail -n 20 /var/log/strata-dockerd.log >&2 || true
  return 1
}
