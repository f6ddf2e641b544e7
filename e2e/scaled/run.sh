#!/usr/bin/env bash
# The scaled Compose stack end to end: docker/scaled.env's stack, Identity, three Computes
# and two LBs as containers with every store in one Redis, driven from the host through
# each replica's own published port (test_scaled.py), torn down whatever happens.
#
#   e2e/scaled/run.sh [suite args…]          # e.g. --only shared_server_lifecycle
#
# Nothing can be pulled here, so the profile's redis:7-alpine is not used: the host's
# redis-server (Debian's) stands in for it. The steps:
#   1. static binaries (docker/build-static.sh; E2E_SKIP_BUILD=1 skips it) and the
#      FROM-scratch images (tag ci, as docker/e2e.sh);
#   2. a Docker network of its own, only for an address on the host that containers reach
#      and the outside does not: its gateway. redis-server binds there, on a free port,
#      nothing saved, protected mode off (no password; only the bridges reach it);
#   3. the env file: docker/scaled.env without COMPOSE_PROFILES (no Redis container), with
#      that Redis's URL, a namespace of its own and Identity on a free host port, then
#      `up -d --scale compute=3 --scale lb=2`;
#   4. every container healthy, each replica's host port from `port --index N`, the suite;
#   5. always: `down -v --remove-orphans`, Redis stopped, the network removed.
#
# Environment: E2E_SKIP_BUILD=1; SCALED_BACKEND=memory (a self-test of the harness: the
# mocks keep their memory store and every check that needs sharing fails); REDIS_SERVER.
# Exit code: the suite's (2 on a start-up error); on failure the containers' last log
# lines are printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

case "${1:-}" in -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
backend="${SCALED_BACKEND:-redis}"
case "$backend" in redis|memory) ;; *) echo "FAILED: SCALED_BACKEND is redis or memory" >&2; exit 2 ;; esac
redis_server="${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}"
[ -x "$redis_server" ] || { echo "FAILED: no redis-server (apt-get install redis-server)" >&2; exit 2; }

project=understudy-scaled
computes=3
lbs=2
# The shell's own variables would win over the env file: the run sets its own.
unset COMPOSE_FILE COMPOSE_PROFILES COMPOSE_PROJECT_NAME "${!UNDERSTUDY_@}"
if docker compose version >/dev/null 2>&1; then compose_cmd=(docker compose); else compose_cmd=(docker-compose); fi
work="$(mktemp -d "${TMPDIR:-/tmp}/understudy-scaled.XXXXXX")"
envfile="$work/scaled.env"
compose() { "${compose_cmd[@]}" -p "$project" --env-file "$envfile" "$@"; }

network="$project-redis-$$"
redis_pid=
suite_pid=
cleanup() {
  local rc=$?
  trap '' INT TERM
  if { true >&4; } 2>/dev/null; then exec 2>&4; fi
  if [ -n "$suite_pid" ]; then kill -TERM "$suite_pid" 2>/dev/null || true; { wait "$suite_pid"; } 2>/dev/null || true; fi
  echo "==> docker compose down -v --remove-orphans"
  if [ -f "$envfile" ]; then
    if [ "$rc" -ne 0 ]; then compose logs --no-color --tail 20 >&2 2>&1 || true; fi
    compose down -v --remove-orphans >/dev/null 2>&1 || echo "WARNING: docker compose down failed" >&2
  fi
  if [ -n "$redis_pid" ]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$redis_pid" 2>/dev/null || true
    { wait "$redis_pid"; } 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then echo "---- last lines of redis.log ----" >&2; tail -n 10 "$work/redis.log" >&2 || true; fi
  fi
  docker network rm "$network" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> build static binaries"
if [ "${E2E_SKIP_BUILD:-0}" = 1 ]; then echo "    skipped (E2E_SKIP_BUILD=1)"; else docker/build-static.sh; fi

echo "==> Redis on the host, on the gateway of a network of its own"
docker network create "$network" >/dev/null
gateway=$(docker network inspect "$network" -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
[ -n "$gateway" ] || { echo "FAILED: network $network has no gateway address" >&2; exit 2; }
rport=$(python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$gateway")
"$redis_server" --bind "$gateway" --port "$rport" --protected-mode no --save '' --appendonly no \
  --daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
python3 - "$gateway" "$rport" "$redis_pid" <<'PY'
import os, socket, sys, time
host, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + 20
while True:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(64).startswith(b"+PONG"):
                break
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("FAILED: redis-server exited at start")
    if time.monotonic() > deadline:
        sys.exit(f"FAILED: redis-server not answering PING on {host}:{port} after 20 s")
    time.sleep(0.1)
PY
namespace="scaled-$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
echo "    redis://$gateway:$rport/0 (network $network), namespace $namespace"

# docker/scaled.env, minus what this run replaces (each of which it must contain).
replaced='COMPOSE_PROFILES|UNDERSTUDY_STORE_BACKEND|UNDERSTUDY_STORE_URL|UNDERSTUDY_STORE_NAMESPACE'
for key in ${replaced//|/ }; do
  grep -q "^$key=" docker/scaled.env || { echo "FAILED: docker/scaled.env sets no $key" >&2; exit 2; }
done
{ grep -Ev "^($replaced)=" docker/scaled.env
  echo "# e2e/scaled/run.sh: no profile (the host's Redis, not redis:7-alpine), its own namespace"
  echo "UNDERSTUDY_STORE_BACKEND=$backend"
  echo "UNDERSTUDY_STORE_URL=redis://$gateway:$rport/0"
  echo "UNDERSTUDY_STORE_NAMESPACE=$namespace"
  echo "UNDERSTUDY_IDENTITY_PUBLISH=5000"
  echo "UNDERSTUDY_DOCKERFILE=docker/Dockerfile.scratch"
  echo "UNDERSTUDY_TAG=ci"
} >"$envfile"

echo "==> build FROM-scratch images"
compose build --quiet

echo "==> ${compose_cmd[*]} --env-file … up -d --scale compute=$computes --scale lb=$lbs ($backend store)"
compose up -d --scale compute="$computes" --scale lb="$lbs"
want=(identity:1 compute:$computes lb:$lbs)
deadline=$(( $(date +%s) + 90 ))
for pair in "${want[@]}"; do
  svc=${pair%:*} n=${pair#*:}
  mapfile -t ids < <(compose ps -q "$svc")
  [ "${#ids[@]}" -eq "$n" ] || { echo "FAILED: $svc has ${#ids[@]} containers, not $n" >&2; exit 2; }
  for id in "${ids[@]}"; do
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
      state=$(docker inspect -f '{{.State.Status}}' "$id")
      if [ "$state" != running ] || [ "$(date +%s)" -gt "$deadline" ]; then
        echo "FAILED: a $svc container is $state, $(docker inspect -f '{{.State.Health.Status}}' "$id") after 90 s at most" >&2
        docker logs --tail 20 "$id" >&2 2>&1 || true
        exit 2
      fi
      sleep 0.2
    done
  done
done
if [ -z "$(compose ps -q redis 2>/dev/null || true)" ]; then echo "    every container healthy (no redis container)"; else echo "FAILED: a redis container runs" >&2; exit 2; fi

# Replica N's host port, as the README says (`port --index N`), and its container.
replica() {  # service port index -> "URL container-id"
  local hp id
  hp=$(compose port --index "$3" "$1" "$2" | tail -1)
  for id in $(compose ps -q "$1"); do
    if [ "$(docker inspect -f '{{index .Config.Labels "com.docker.compose.container-number"}}' "$id")" = "$3" ]; then
      echo "http://127.0.0.1:${hp##*:} $id"; return
    fi
  done
  echo "FAILED: no $1 container number $3" >&2; return 1
}
join() { local IFS=,; echo "$*"; }
compute_urls=() compute_ids=() lb_urls=()
for i in $(seq "$computes"); do
  out=$(replica compute 8774 "$i"); read -r url id <<<"$out"; compute_urls+=("$url"); compute_ids+=("$id")
done
for i in $(seq "$lbs"); do out=$(replica lb 9876 "$i"); read -r url _ <<<"$out"; lb_urls+=("$url"); done
identity_url="http://127.0.0.1:$(compose port identity 5000 | tail -1 | sed 's/.*://')"
echo "    identity $identity_url; compute ${compute_urls[*]}; lb ${lb_urls[*]}"

echo "==> the scaled suite (e2e/scaled/test_scaled.py)"
# In the background, so that INT/TERM reach the trap at once; fd 4 keeps stderr for it.
set +e
{ python3 "$here/test_scaled.py" \
    --identity "$identity_url" \
    --compute "$(join "${compute_urls[@]}")" \
    --lb "$(join "${lb_urls[@]}")" \
    --compute-containers "$(join "${compute_ids[@]}")" \
    --redis-host "$gateway" --redis-port "$rport" --namespace "$namespace" \
    --backend "$backend" "$@" 2>&3 &
  suite_pid=$!
  wait "$suite_pid"
  rc=$?
  suite_pid=
} 3>&2 4>&2
set -e
exit "$rc"
