#!/usr/bin/env bash
# `make bench` runs this first: it installs wrk and starts PostgreSQL (and Redis, for the shared
# cache) when they are missing, as .ci/run does for the tests. Debian, as root or with sudo.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk"
  apt_install wrk
fi

command -v pg_isready >/dev/null 2>&1 || { echo "bench: installing PostgreSQL"; apt_install postgresql postgresql-client; }
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "bench: starting PostgreSQL"
  cluster_version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$cluster_version" ]; then
    apt_install postgresql
    cluster_version=$(ls /etc/postgresql | sort -V | tail -n 1)
  fi
  # Local benchmarks only, as in .ci/run: trust connections from loopback, to log in as postgres.
  hba=/etc/postgresql/$cluster_version/main/pg_hba.conf
  as_root grep -q "^host all all 127.0.0.1/32 trust" "$hba" || as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "bench: PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }

# Redis holds the cache shared by the gunicorn workers, as in production. Without it the bench
# still runs, with a per-process cache (and says so in its results).
if ! { command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; }; then
  command -v redis-server >/dev/null 2>&1 || { echo "bench: installing Redis"; apt_install redis-server || true; }
  if command -v redis-server >/dev/null 2>&1; then
    echo "bench: starting Redis"
    as_root redis-server --bind 127.0.0.1 --port 6379 --daemonize yes >/dev/null || true
    for _ in $(seq 10); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
fi
