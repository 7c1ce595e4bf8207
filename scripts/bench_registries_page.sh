#!/usr/bin/env bash
# Registries page benchmark (issue 10): a repository with N tags (default 1000) in a
# loopback docker-registry, served by `strata serve --registry bench=…`; times the first
# tag page (100 names), the whole tag list, and the tag details of the first page cold
# (manifest + config from the registry) and warm (kept by the server).
# Usage: bash scripts/bench_registries_page.sh [N]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
N="${1:-1000}"
ensure_apt docker-registry skopeo python3 curl busybox-static
log "building strata (release)"
cargo build --release --locked -p server
STRATA="${CARGO_TARGET_DIR:-$ROOT/target}/release/strata"
WORK="${BENCH_DIR:-/var/tmp/strata-bench}/registries-page"
rm -rf "$WORK" && mkdir -p "$WORK/data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port); SPORT=$(free_port)
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$WORK/data" "$RPORT" > "$WORK/config.yml"
docker-registry serve "$WORK/config.yml" >"$WORK/registry.log" 2>&1 & REG=$!
trap 'kill $REG $SRV 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$RPORT/v2/" >/dev/null && break; sleep 0.1; done

log "pushing one image and $N tags of it"
python3 - "$WORK" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
work = sys.argv[1]
data = open("/bin/busybox", "rb").read()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    info = tarfile.TarInfo("bin/busybox"); info.size = len(data); info.mode = 0o755
    t.addfile(info, io.BytesIO(data))
tar = buf.getvalue()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2025-01-01T00:00:00Z", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode()
os.makedirs(f"{work}/layout/blobs/sha256", exist_ok=True)
def put(b):
    d = hashlib.sha256(b).hexdigest(); open(f"{work}/layout/blobs/sha256/{d}", "wb").write(b); return d, len(b)
gz = gzip.compress(tar, 6)
(ld, ll), (cd, cl) = put(gz), put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": cl},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + ld, "size": ll}]}).encode()
md, ml = put(man)
open(f"{work}/layout/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + md, "size": ml}]}))
open(f"{work}/layout/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(f"{work}/manifest.json", "wb").write(man)
PY
skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout" "docker://127.0.0.1:$RPORT/bench/app:t0000"
python3 - "$RPORT" "$N" "$WORK/manifest.json" <<'PY'
import http.client, sys
port, n, man = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "rb").read()
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(1, n):
    c.request("PUT", f"/v2/bench/app/manifests/t{i:04d}", man, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY

"$STRATA" serve --listen "127.0.0.1:$SPORT" --no-cache --rate-limit 0 --registry "bench=127.0.0.1:$RPORT" >"$WORK/strata.log" 2>&1 & SRV=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$SPORT/api/v1/registries" >/dev/null && break; sleep 0.1; done
python3 - "$SPORT" <<'PY'
import http.client, json, sys, time
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port)
def get(path):
    t = time.perf_counter(); c.request("GET", path); r = c.getresponse(); body = r.read()
    assert r.status == 200, (path, r.status, body[:200]); return time.perf_counter() - t, json.loads(body)
t_page, page = get("/api/v1/registries/bench/tags?repository=bench/app&n=100")
t_all, names, last, pages = 0.0, [], None, 0
while True:
    q = "&last=" + last if last else ""
    t, p = get(f"/api/v1/registries/bench/tags?repository=bench/app&n=100{q}")
    t_all += t; names += p["items"]; last = p.get("next"); pages += 1
    if not last: break
first = page["items"]
def details():
    t = time.perf_counter()
    for tag in first: get(f"/api/v1/registries/bench/tag?repository=bench/app&tag={tag}")
    return time.perf_counter() - t
cold, warm = details(), details()
print(f"tags: {len(names)}")
print(f"first page of tag names (n=100; {len(page['items'])} answered): {t_page*1000:7.1f} ms")
print(f"all tag names ({len(names)} in {pages} pages):  {t_all*1000:7.1f} ms")
print(f"details of the first 100 tags, cold: {cold*1000:7.1f} ms ({cold*10:.1f} ms each)")
print(f"details of the first 100 tags, warm: {warm*1000:7.1f} ms ({warm*10:.2f} ms each)")
PY
