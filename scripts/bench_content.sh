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
import base64
rnd = random.Random(11)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(4000)]
# A text pool to cut from, so files are as compressible as real layers (about 2:1):
# half random base64 (binary-like), half prose-like text.
pool = b"\n".join(b" ".join(rnd.choice(words) for _ in range(12)) for _ in range(80000))
tar_path = os.path.join(work, "layer.tar")
with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as t:
    for i in range(size_mb):
        at = rnd.randrange(len(pool) - (1 << 19))
        data = base64.b64encode(os.urandom(3 << 17)) + pool[at : at + (1 << 19)]
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
read -r cli_cold_first _ < <(first_byte "$STRATA" cat "oci:$WORK/layout" "/$TARGET")
read -r cli_warm_first _ < <(first_byte "$STRATA" cat "oci:$WORK/layout" "/$TARGET")
read -r gz_first gz_all < <(first_byte tar -xzOf "$GZ" "$TARGET")
read -r tar_first tar_all < <(first_byte tar -xOf "$WORK/layer.tar" "$TARGET")
"$STRATA" cat "oci:$WORK/layout" "/$TARGET" | cmp - <(tar -xOf "$WORK/layer.tar" "$TARGET") \
  && log "strata cat output equals tar's"

# The server: the image analysed once, then the file read through the content route.
rm -rf "$CACHE"
PORT=$(( 20000 + RANDOM % 20000 ))
"$STRATA" serve --listen "127.0.0.1:$PORT" "oci:$WORK/layout" >"$WORK/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null' EXIT
API="http://127.0.0.1:$PORT/api/v1"
for _ in $(seq 1 100); do curl -fs "$API/health" >/dev/null && break; sleep 0.1; done
ID=$(curl -fs "$API/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')
JOB=$(curl -fs -X POST -H 'content-type: application/json' "$API/images/$ID/analysis" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 600); do
  state=$(curl -fs "$API/jobs/$JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$state" != running ] && break; sleep 0.2
done
URL="$API/images/$ID/layers/0/file?path=$TARGET"
ttfb() { curl -fs -o /dev/null -w '%{time_starttransfer} %{time_total}\n' "$URL" \
  | awk '{printf "%.0f %.0f\n", $1 * 1000, $2 * 1000}'; }
read -r api_cold_first api_cold_all < <(ttfb)
read -r api_warm_first api_warm_all < <(ttfb)
kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null

printf '\n| %s MB gzip layer, 1 MB file at 95 %% | first byte | whole file |\n|---|---|---|\n' "$SIZE_MB"
printf '| API, first read (builds the checkpoint index) | %s ms | %s ms |\n' "$api_cold_first" "$api_cold_all"
printf '| API, index cached (nearest checkpoint) | %s ms | %s ms |\n' "$api_warm_first" "$api_warm_all"
printf '| `tar -xzOf` (decompress from the start) | %s ms | %s ms |\n' "$gz_first" "$gz_all"
printf '| `tar -xOf` on the uncompressed layer | %s ms | %s ms |\n' "$tar_first" "$tar_all"
printf '| `strata cat` (whole command: load the image, then read), cold / warm | %s ms | %s ms |\n' "$cli_cold_first" "$cli_warm_first"
awk -v w="$api_warm_first" -v g="$gz_first" 'BEGIN{ if (w > 0) printf "\ncached API read vs tar -xzOf: %.0f× faster to the first byte\n", g / w }'
