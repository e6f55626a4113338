#!/usr/bin/env bash
# Everything the test suite needs besides the Python packages: a Redis server on 127.0.0.1:6379
# and the pinned npm packages of the real-client tests. Installs what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "test-setup: need root to apt-get install $*" >&2
    return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

redis_up() {
  command -v redis-cli >/dev/null && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]
}

if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/pusherd-test-redis.log
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "test-setup: redis-server did not start" >&2; exit 1; }
fi

# PostgreSQL for the auth service's key store tests: user postgres over TCP on 127.0.0.1:5432,
# trust authentication (as on this machine kind); installed and started where missing.
postgres_up() {
  command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 -U postgres
}
if ! postgres_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # Local tests only: trust connections from this machine's loopback, nothing else.
    if ! grep -q "pusherd-tests" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust # pusherd-tests' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || \
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  fi
  for _ in $(seq 50); do postgres_up && break; sleep 0.2; done
  postgres_up || { echo "test-setup: PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi

# The browser test drives Debian's Chromium through playwright-core (no browser download).
command -v chromium >/dev/null || apt_install chromium

# npm packages, pinned by their lockfiles; reinstalled only when a lockfile changes.
for node_dir in tests/e2e/node clients/js-example; do
  [ -f "$node_dir/package-lock.json" ] || continue
  stamp="$node_dir/node_modules/.installed-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$node_dir/package-lock.json" "$stamp"; then
    npm ci --prefix "$node_dir" --no-audit --no-fund --loglevel=error
    cp "$node_dir/package-lock.json" "$stamp"
  fi
done

# The scoreboard page is built by its own build step, never committed.
if [ -f clients/js-example/package.json ] && [ ! -d clients/js-example/dist ]; then
  npm run --prefix clients/js-example build --silent
fi

# Deployment checks (tests/deploy): HAProxy's config check, promtool for the alert rules,
# supervisord's config parser, systemd-analyze for the units, docker-compose for the compose file.
command -v haproxy >/dev/null || apt_install --no-install-recommends haproxy
command -v promtool >/dev/null || apt_install --no-install-recommends prometheus
command -v supervisord >/dev/null || apt_install --no-install-recommends supervisor
command -v systemd-analyze >/dev/null || apt_install --no-install-recommends systemd
command -v docker-compose >/dev/null || apt_install --no-install-recommends docker-compose

# The image test (opt-in: PUSHERD_DOCKER_TESTS=1): a Docker engine without the default bridge
# network (builds and containers use --network host), and base images from Debian's packages.
if [ "${PUSHERD_DOCKER_TESTS:-}" = 1 ]; then
  command -v dockerd >/dev/null || apt_install --no-install-recommends docker.io
  command -v mmdebstrap >/dev/null || apt_install --no-install-recommends mmdebstrap
  if ! docker info >/dev/null 2>&1; then
    nohup dockerd --bridge=none --iptables=false --ip6tables=false \
      >/tmp/pusherd-test-dockerd.log 2>&1 &
    for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
    docker info >/dev/null 2>&1 || { echo "test-setup: dockerd did not start" >&2; exit 1; }
  fi
  sh deploy/docker/make-bases.sh
fi
