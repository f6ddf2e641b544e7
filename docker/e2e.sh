#!/usr/bin/env bash
# The Docker Compose end-to-end test: static binaries, FROM-scratch images, the stack up
# and healthy, driven from the host, image sizes checked, everything torn down whatever
# happens. Prints each step; fails at the first failing one.
set -euo pipefail
cd "$(dirname "$0")/.."

export UNDERSTUDY_DOCKERFILE=docker/Dockerfile.scratch
export UNDERSTUDY_TAG=ci
project=understudy-e2e
# Compose v2 (`docker compose`) where installed; Debian's docker-compose v1 otherwise.
if docker compose version >/dev/null 2>&1; then
  compose() { docker compose -p "$project" "$@"; }
else
  compose() { docker-compose -p "$project" "$@"; }
fi
max_image_mb=${MAX_IMAGE_MB:-20}

teardown() {
  echo "==> docker compose down"
  compose logs --no-color --tail 50 >docker-e2e-logs.txt 2>&1 || true
  compose down -v --remove-orphans >/dev/null 2>&1 || true
}
trap teardown EXIT

echo "==> build static binaries"
if [ "${E2E_SKIP_BUILD:-0}" = 1 ]; then echo "    skipped (E2E_SKIP_BUILD=1)"; else docker/build-static.sh; fi

echo "==> build FROM-scratch images"
compose build --quiet

echo "==> image sizes (limit ${max_image_mb} MB)"
for bin in identity-mock compute-mock lb-mock; do
  bytes=$(docker image inspect "understudy/$bin:ci" --format '{{.Size}}')
  mb=$(python3 -c "print(round($bytes/1e6, 1))")
  echo "    $bin: ${mb} MB"
  python3 -c "import sys; sys.exit(0 if $bytes < $max_image_mb*1e6 else 1)" \
    || { echo "FAILED: $bin image is ${mb} MB"; exit 1; }
done

echo "==> docker compose up, then wait until every service is healthy"
start=$(date +%s.%N)
compose up -d
deadline=$(( $(date +%s) + 60 ))
for svc in identity compute lb; do
  id=$(compose ps -q "$svc")
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "FAILED: $svc is not healthy after 60 s"; compose logs --no-color "$svc" | tail -20; exit 1
    fi
    sleep 0.1
  done
done
end=$(date +%s.%N)
echo "    healthy after $(python3 -c "print(round($end - $start, 2))") s"

echo "==> a mock restarted after a Mimic tick takes the stack's clock"
curl -fsS -X POST localhost:5000/mimic/v1.1/tick -d '{"amount": 1000}' >/dev/null
compose restart compute >/dev/null 2>&1
id=$(compose ps -q compute)
deadline=$(( $(date +%s) + 60 ))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "FAILED: compute is not healthy after its restart"; exit 1; fi
  sleep 0.1
done
python3 - <<'PY'
import json, sys, urllib.request
read = lambda url: json.load(urllib.request.urlopen(url + "/_understudy/v1/clock", timeout=5))
identity, compute = read("http://localhost:5000"), read("http://localhost:8774")
if compute["mode"] != "frozen" or compute["now"] != identity["now"]:
    sys.exit(f"FAILED: restarted compute reads {compute}, identity {identity}")
print(f"    both read {compute['now']} (frozen)")
PY
curl -fsS -X POST localhost:5000/_understudy/v1/clock/reset >/dev/null

echo "==> drive the stack from the host"
python3 docker/e2e.py

echo "==> the topology suite against Compose (three containers)"
python3 e2e/topology/test_topology.py http://localhost:5000 http://localhost:8774 http://localhost:9876 --topology compose

echo "==> the SDK suite against Compose"
e2e/sdk/run.sh http://localhost:5000
