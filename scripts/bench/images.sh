# Builds the benchmark images locally (no registry): a debootstrap minbase Debian, a
# Node-style app single-stage and multistage, 300k small files, 120 layers and an image
# over 1 GB. Sourced by bench.sh and load.sh after lib.sh; needs $WORK (scratch space).
# Images already present are kept.

have() { docker image inspect "$1" >/dev/null 2>&1; }

build_images() {
  if ! have strata-bench/debian:minbase; then
    log "debootstrap --variant=minbase bookworm"
    local mirror
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
    tar -C "$WORK/rootfs" -c . | docker import - strata-bench/debian:minbase >/dev/null
  fi
  if ! have strata-bench/node-single:latest || ! have strata-bench/node-multi:latest; then
    log "node-style app, single-stage and multistage"
    rm -rf "$WORK/node"
    python3 scripts/bench/gen_node_app.py "$WORK/node" 30000
    docker build -q -f "$WORK/node/Dockerfile.single" -t strata-bench/node-single:latest "$WORK/node" >/dev/null
    docker build -q -f "$WORK/node/Dockerfile.multi" -t strata-bench/node-multi:latest "$WORK/node" >/dev/null
  fi
  if ! have strata-bench/many-files:latest; then
    log "300k small files"
    python3 scripts/bench/gen_archive.py many-files "$WORK/many-files.tar" 300000
    docker load -q -i "$WORK/many-files.tar" >/dev/null
  fi
  if ! have strata-bench/many-layers:latest; then
    log "120 layers"
    python3 scripts/bench/gen_archive.py many-layers "$WORK/many-layers.tar" 120
    docker load -q -i "$WORK/many-layers.tar" >/dev/null
  fi
  if ! have strata-bench/big:latest; then
    log "an image over 1 GB"
    mkdir -p "$WORK/big"
    printf '%s\n' "FROM strata-bench/debian:minbase" \
      "RUN head -c 600000000 /dev/urandom > /blob1 && mkdir /data && for i in \$(seq 1 2000); do head -c 100000 /dev/urandom > /data/f\$i; done" \
      "RUN head -c 300000000 /dev/urandom > /blob2" \
      "RUN rm /blob1 && chmod 600 /blob2" > "$WORK/big/Dockerfile"
    docker build -q -t strata-bench/big:latest "$WORK/big" >/dev/null
  fi
}
