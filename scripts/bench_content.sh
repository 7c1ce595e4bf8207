#!/usr/bin/env bash
# File-content benchmark (issue 11): time to the first and last byte of a 1 MB file in
# the last tenth of a large gzip layer, read with `strata cat` cold (no cache: the layer
# is indexed and its gzip checkpoints built), warm (layer index and checkpoints cached)
# and against decompressing from the start (`tar -xzOf`) and plain `tar -xOf` on the
# uncompressed layer. Usage: bash scripts/bench_content.sh [SIZE_MB] (default 1024).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SIZE_MB="${1:-1024}"
ensure_apt python3 time
log "building strata (release)"
cargo build --release --locked -p server
STRATA="${CARGO_TARGET_DIR:-$ROOT/target}/release/strata"
WORK="${BENCH_DIR:-/var/tmp/strata-bench}/content-$SIZE_MB"
mkdir -p "$WORK"

if [ ! -f "$WORK/layout/index.json" ]; then
  log "writing a ${SIZE_MB} MB layer of 1 MB files and its OCI layout (gzip)"
  python3 - "$WORK" "$SIZE_MB" <<'PY'
import hashlib, io, json, os, random, subprocess, sys, tarfile
work, size_mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(11)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(4000)]
tar_path = os.path.join(work, "layer.tar")
with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as t:
    for i in range(size_mb):
        line = b" ".join(rnd.choice(words) for _ in range(200)) + b"\n"
        data = (line * (1 + (1 << 20) // len(line)))[: 1 << 20]
        info = tarfile.TarInfo(f"data/f{i:05d}")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
subprocess.run(["gzip", "-kf", "-6", tar_path], check=True)
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
layout = os.path.join(work, "layout")
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
diff_id, gz = sha(tar_path), tar_path + ".gz"
gz_digest = sha(gz)
os.replace(gz, os.path.join(blobs, gz_digest))
def put(obj):
    b = json.dumps(obj).encode()
    d = hashlib.sha256(b).hexdigest()
    open(os.path.join(blobs, d), "wb").write(b)
    return d, len(b)
cfg = {"architecture": "amd64", "os": "linux", "config": {},
       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
       "history": [{"created_by": "COPY data /data"}]}
cd, cl = put(cfg)
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": cl},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + gz_digest,
                   "size": os.path.getsize(os.path.join(blobs, gz_digest))}]}
md, ml = put(man)
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(layout, "oci-layout"), "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": "sha256:" + md, "size": ml}]}, open(os.path.join(layout, "index.json"), "w"))
PY
fi

TARGET="data/f$(printf '%05d' $(( SIZE_MB * 95 / 100 )))"
GZ=$(ls "$WORK"/layout/blobs/sha256/* | xargs ls -S | head -1)
CACHE="$WORK/cache"
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
first_byte() { # CMD... -> ms until the first byte arrives on stdout
  python3 - "$@" <<'PY'
import subprocess, sys, time
t = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
p.stdout.read(1)
first = time.monotonic() - t
p.stdout.read()
p.wait()
print(f"{first * 1000:.0f} {(time.monotonic() - t) * 1000:.0f}")
PY
}

rm -rf "$CACHE"
export STRATA_CACHE_DIR="$CACHE"
read -r cold_first cold_all < <(first_byte "$STRATA" cat "oci:$WORK/layout" "/$TARGET")
read -r warm_first warm_all < <(first_byte "$STRATA" cat "oci:$WORK/layout" "/$TARGET")
read -r gz_first gz_all < <(first_byte tar -xzOf "$GZ" "$TARGET")
read -r tar_first tar_all < <(first_byte tar -xOf "$WORK/layer.tar" "$TARGET")
"$STRATA" cat "oci:$WORK/layout" "/$TARGET" | cmp - <(tar -xOf "$WORK/layer.tar" "$TARGET") \
  && log "strata cat output equals tar's"

printf '\n| %s MB gzip layer, 1 MB file at 95 %% | first byte | whole file |\n|---|---|---|\n' "$SIZE_MB"
printf '| `strata cat`, cold (index layer + build checkpoints) | %s ms | %s ms |\n' "$cold_first" "$cold_all"
printf '| `strata cat`, warm (cached index, nearest checkpoint) | %s ms | %s ms |\n' "$warm_first" "$warm_all"
printf '| `tar -xzOf` (decompress from the start) | %s ms | %s ms |\n' "$gz_first" "$gz_all"
printf '| `tar -xOf` on the uncompressed layer | %s ms | %s ms |\n' "$tar_first" "$tar_all"
awk -v w="$warm_first" -v g="$gz_first" 'BEGIN{ if (w > 0) printf "\nwarm strata vs tar -xzOf: %.1f× faster to the first byte\n", g / w }'
