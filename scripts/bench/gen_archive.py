#!/usr/bin/env python3
"""Generates classic `docker save` archives for the benchmark (written to stdout-named
files, then `docker load`ed): `many-files` (one layer of N small files) and
`many-layers` (N layers, each adding and overwriting a few files). Deterministic."""
import hashlib, io, json, sys, tarfile

def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        dirs = set()
        for path, data in entries:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1700000000
                    t.addfile(ti)
            ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = 0o644; ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

def save(out, tag, layers):
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"RUN step {i}"} for i in range(len(layers))],
    }).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    with tarfile.open(out, mode="w", format=tarfile.GNU_FORMAT) as t:
        def put(name, data):
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
        names = []
        for d, l in zip(diff_ids, layers):
            name = d[7:] + "/layer.tar"
            if name not in names:
                put(name, l)
            names.append(name)
        put(cfg_name, config)
        put("manifest.json", json.dumps([{"Config": cfg_name, "RepoTags": [tag], "Layers": names}]).encode())

def main():
    kind, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "many-files":
        entries = [(f"data/d{i // 1000:04}/f{i:07}", (b"%07d\n" % i) * (1 + i % 20)) for i in range(n)]
        save(out, "strata-bench/many-files:latest", [layer_tar(entries)])
    elif kind == "many-layers":
        layers = [layer_tar([(f"base/f{j}", b"b" * 4096) for j in range(500)])]
        for i in range(1, n):
            layers.append(layer_tar([(f"app/step{i:03}", b"s" * (1000 + i)), (f"app/shared{i % 5}", b"x" * (2000 + i))]))
        save(out, "strata-bench/many-layers:latest", layers)
    else:
        sys.exit(f"unknown kind {kind}")

main()
