#!/usr/bin/env bash
# Builds Strata (server + UI) and serves it on 127.0.0.1:7878 against the local Docker
# daemon. Extra arguments go to `strata serve` (e.g. archives to open: FILE.tar).
# With no daemon Strata still starts, shows a banner and opens archives.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt ca-certificates pkg-config
if [ "${STRATA_NO_DOCKER:-0}" != 1 ]; then
  ensure_apt docker.io
  ensure_dockerd || log "no Docker daemon: Strata will start anyway and show a banner"
fi
ensure_frontend_tools
build_frontend
log "building the strata binary"
(cd "$ROOT" && cargo build --release --locked -p server)
log "serving on http://127.0.0.1:7878"
exec "$ROOT/target/release/strata" serve --dist-dir "$ROOT/dist" "$@"
