# codex-sub-proxy container image.
#
#   docker build -t codex-sub-proxy:local .
#   docker run -d --name codex-sub-proxy --env-file .env -p 127.0.0.1:3000:3000 \
#     -v codex-sub-proxy-state:/var/lib/codex-sub-proxy --stop-timeout 45 codex-sub-proxy:local
#   docker run --rm -it -v codex-sub-proxy-state:/var/lib/codex-sub-proxy codex-sub-proxy:local login
#
# The build stage runs exactly the README's "Build by hand" commands (scripts/check-dockerfile
# keeps the two in step), so the image is built the way a person builds it on Debian bookworm.

# ---- build ----------------------------------------------------------------------------------
FROM debian:bookworm AS build
WORKDIR /src
# scripts/setup alone first: the package layer is then cached across source changes. It installs
# the compiler and the -dev packages with apt-get (as root here, so without sudo); Node is only
# for the client tests, which the image does not build.
COPY scripts/setup scripts/setup
RUN COSP_SETUP_NO_NODE=1 scripts/setup
COPY . .
RUN cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCOSP_BUILD_TESTS=OFF -DCOSP_BUILD_BENCH=OFF
RUN cmake --build build-release -j2
RUN cmake --install build-release --prefix /usr/local

# ---- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim
# Only the shared libraries the binaries link (POCO 1.11 = soname 80, Boost.Program_options 1.74,
# OpenSSL 3, zstd and zlib for compressed request bodies) and the CA store the upstream TLS check
# uses. apt pulls their own dependencies (libpocoxml80, libexpat1, libpcre3).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpocofoundation80 libpoconet80 libpoconetssl80 libpocojson80 libpocoutil80 libpococrypto80 \
      libboost-program-options1.74.0 libssl3 libzstd1 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed non-root uid, so a bind-mounted state directory can be prepared on the host with
# `chown 10001:10001`. The state directory is 0700 (it holds the refresh token); /run holds the
# control socket.
RUN useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /var/lib/codex-sub-proxy --shell /usr/sbin/nologin codex-sub-proxy \
 && install -d -m 0700 -o codex-sub-proxy -g codex-sub-proxy /var/lib/codex-sub-proxy \
 && install -d -m 0750 -o codex-sub-proxy -g codex-sub-proxy /run/codex-sub-proxy
# The supervisor starts codex-sub-proxy-worker from its own directory, so the three stay together.
COPY --from=build /usr/local/bin/codex-sub-proxy /usr/local/bin/codex-sub-proxy-worker /usr/local/bin/codex-sub-proxy-ctl /usr/local/bin/
COPY --from=build /usr/local/share/doc/codex-sub-proxy/ /usr/local/share/doc/codex-sub-proxy/

# STATE_DIR: credentials.json, on the volume so a login and every token rotation survive the
# container. CONTROL_SOCKET: fixed, so `docker exec ... codex-sub-proxy-ctl` and the health check
# find it. HOST=0.0.0.0: reachable through the published port; this makes PROXY_API_KEY
# mandatory (the proxy refuses to start without one on a non-loopback address).
ENV STATE_DIR=/var/lib/codex-sub-proxy \
    CONTROL_SOCKET=/run/codex-sub-proxy/control.sock \
    HOST=0.0.0.0 \
    PORT=3000
VOLUME ["/var/lib/codex-sub-proxy"]
EXPOSE 3000
USER 10001:10001

# SIGTERM = graceful drain (in-flight requests and streams get SHUTDOWN_GRACE, 30 s). Docker's
# default stop timeout is 10 s: use `docker stop -t 45` / `--stop-timeout 45`, or Compose's
# stop_grace_period. The supervisor is PID 1 and handles every signal and reaps its workers
# itself, so no init (--init) is needed.
STOPSIGNAL SIGTERM

# Healthy = the supervisor answers AND it can serve model calls: `ctl status` exits 0 healthy,
# 1 degraded (a worker slot without a ready worker, or no usable credentials: never logged in,
# or the refresh token was revoked), 3 not running. Degraded is reported as unhealthy on
# purpose: a proxy that is not logged in cannot answer a single model call, and
# `depends_on: condition: service_healthy` must wait for the login. Plain Docker and Compose do
# not restart unhealthy containers, so this only labels the container (docker ps shows
# "unhealthy"; `docker exec <name> codex-sub-proxy-ctl status` says why). Swarm does replace
# unhealthy tasks: harmless here, the state volume keeps the login. The start period covers the
# workers' start-up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["codex-sub-proxy-ctl", "status", "--quiet"]

# `docker run IMAGE` serves; `docker run IMAGE login [--print]` runs the device-code login with
# the same binary, writing STATE_DIR/credentials.json into the volume.
ENTRYPOINT ["codex-sub-proxy"]
CMD ["serve"]
