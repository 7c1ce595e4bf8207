#!/usr/bin/env python3
"""Writes a Node-style build context (node_modules with dev and prod dependencies,
sources, a cache dir) into the given folder, plus single-stage and multistage
Dockerfiles, for the benchmark and the comparison lessons. Deterministic."""
import os, random, sys

root = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
rng = random.Random(42)

def write(path, size):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(rng.randbytes(size))

for i in range(files):
    kind = "prod" if i % 4 == 0 else "dev"
    write(f"node_modules/{kind}/pkg{i // 50:04}/lib/f{i:06}.js", 200 + (i * 7919) % 12000)
for i in range(400):
    write(f"src/app/m{i:03}.ts", 500 + (i * 131) % 4000)
for i in range(200):
    write(f".cache/build/c{i:03}.bin", 30000)
write("package.json", 600)

base = sys.argv[3] if len(sys.argv) > 3 else "strata-bench/debian:minbase"
with open(os.path.join(root, "Dockerfile.single"), "w") as f:
    f.write(f"""FROM {base}
WORKDIR /app
COPY . /app
RUN cp -r /app/src /app/dist && rm -rf /app/.cache
RUN chmod -R go-w /app/node_modules/prod
CMD ["/bin/sh"]
""")
with open(os.path.join(root, "Dockerfile.multi"), "w") as f:
    f.write(f"""FROM {base} AS build
WORKDIR /app
COPY . /app
RUN cp -r /app/src /app/dist
FROM {base}
WORKDIR /app
COPY --from=build /app/dist /app/dist
COPY --from=build /app/node_modules/prod /app/node_modules
CMD ["/bin/sh"]
""")
