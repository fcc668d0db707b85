# Multi-stage: build and unit-test on Debian 12, run on bookworm-slim with only the runtime
# libraries, as a non-root user. Fine with readOnlyRootFilesystem: vitals writes only to its
# state_dir when one is configured (mount an emptyDir there). scripts/image-size reports what
# this stage adds to the base (14 MiB) without a Docker engine.
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libpistache-dev nlohmann-json3-dev catch2 \
        libpqxx-dev libhiredis-dev librabbitmq-dev libssl-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY sidecar sidecar
COPY checks checks
COPY tests tests
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=MinSizeRel -DVITALS_WERROR=ON \
 && cmake --build build -j"$(nproc)" \
 && ctest --test-dir build -L unit --output-on-failure

# Six runtime libraries (Pistache, libpqxx, hiredis, librabbitmq, OpenSSL, libcurl), and on
# purpose: ca-certificates (rediss://, amqps:// and the tls kind verify against the system's
# CAs) and tzdata (the heartbeat kind's cron schedules name time zones).
FROM debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="vitals" \
      org.opencontainers.image.description="Health sidecar for Django on Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="README.md and docs/ in the source"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpistache0 libpqxx-6.4 libhiredis0.14 librabbitmq4 libssl3 libcurl4 \
        ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/vitals /usr/local/bin/vitals
# GnuTLS arrives with libldap (through libpq and libcurl) and initialises itself when loaded,
# 0.6 MiB resident for a library vitals never calls: its own switch turns that off (libldap
# initialises it itself should it ever need TLS).
ENV GNUTLS_NO_IMPLICIT_INIT=1
USER 10001:10001
EXPOSE 8686
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/vitals"]
