# Hark on CPU. Not built or tested on Hark's CI machine (no Docker there): it mirrors the
# README's pip install exactly. Build: docker build -t hark .
# Run:   docker run -p 8080:8080 -p 50051:50051 -v hark-data:/data hark --api-key YOUR_KEY
FROM python:3.11-slim
WORKDIR /hark
COPY . .
RUN python3 -m venv .venv && .venv/bin/pip install --quiet . && .venv/bin/hark --version
# The speaker encoder for diarization (17 MB from PyPI, hash-checked), baked into the image.
RUN .venv/bin/hark models pull
# Two engine threads each get a glibc arena of their own; two arenas in all keep a long
# file's peak memory ~200 MB lower (bench/RESULTS.md, continuous batching).
ENV MALLOC_ARENA_MAX=2
VOLUME /data
EXPOSE 8080 50051
# /healthz is liveness; /readyz (model loaded, store reachable) is what a load balancer wants.
HEALTHCHECK CMD .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/readyz', timeout=5)"
ENTRYPOINT [".venv/bin/hark", "serve", "--host", "0.0.0.0", "--data-dir", "/data"]
