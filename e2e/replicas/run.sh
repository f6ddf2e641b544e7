#!/usr/bin/env bash
# Starts replicas of the Understudy mocks that share one state through Redis, runs
# test_replicas.py against them, and stops what it started, whatever happens.
#
#   e2e/replicas/run.sh [BIN_DIR] [suite args…]      # e.g. --only shared_server_lifecycle
#
# What runs, all on free loopback ports: its own redis-server (no persistence), one
# identity-mock, three compute-mock and two lb-mock processes, every one with
#   UNDERSTUDY__STORE__BACKEND=redis
#   UNDERSTUDY__STORE__URL=redis://127.0.0.1:PORT/0
#   UNDERSTUDY__STORE__NAMESPACE=<random per run>
# Identity's catalog names the first compute and the first lb replica.
#
# BIN_DIR defaults to <repo>/target/debug. Environment:
#   REDIS_SERVER                    redis-server to run (default: the one on PATH, else /usr/bin/redis-server)
#   REPLICAS_BACKEND=memory         start the mocks with the default memory store instead (a
#                                   self-test of the harness: the sharing checks then fail)
#   REPLICAS_LB_PENDING_UPDATE_MS   lb.pending_update_time_ms of the lb replicas (default 5000),
#                                   so a change leaves a balancer PENDING_UPDATE until the
#                                   virtual clock moves on
# Exit code: the suite's (2 on a usage or start-up error). The logs live in a temp dir; their
# last lines are printed when the run fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin_dir="${1:-$repo/target/debug}"
suite_args=("${@:2}")
backend="${REPLICAS_BACKEND:-redis}"
redis_server="${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}"
lb_pending_ms="${REPLICAS_LB_PENDING_UPDATE_MS:-5000}"

case "$bin_dir" in
  -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
case "$backend" in
  redis|memory) ;;
  *) echo "FAILED: REPLICAS_BACKEND must be redis or memory, not $backend" >&2; exit 2 ;;
esac
for b in identity-mock compute-mock lb-mock; do
  [ -x "$bin_dir/$b" ] || { echo "FAILED: $bin_dir/$b is not an executable" >&2; exit 2; }
done
[ -x "$redis_server" ] || { echo "FAILED: $redis_server is not an executable (apt-get install redis-server)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/understudy-replicas.XXXXXX")"
pids=()
suite_pid=
# The suite restarts Redis when it checks an outage; it writes the new pid here.
restarted_pidfile="$work/redis-restarted.pid"
cleanup() {
  local rc=$?
  trap '' INT TERM
  # Interrupted while the suite ran, the shell's fd 2 is /dev/null: back to the real one (4).
  if { true >&4; } 2>/dev/null; then exec 2>&4; fi
  if [ -n "$suite_pid" ]; then
    kill -TERM "$suite_pid" 2>/dev/null || true
    { wait "$suite_pid"; } 2>/dev/null || true
  fi
  local all=("${pids[@]}")
  if [ -s "$restarted_pidfile" ]; then
    all+=("$(cat "$restarted_pidfile")")
  fi
  for pid in "${all[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${all[@]}"; do
    # Give each process its grace period, then insist.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true   # quiet: a replica the suite killed is expected
  done
  if [ "$rc" -ne 0 ]; then
    for log in "$work"/*.log; do
      [ -f "$log" ] || continue
      echo "---- last lines of $(basename "$log") ----" >&2
      tail -n 20 "$log" >&2 || true
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Seven distinct free ports (bound together, then released): redis, identity, 3 compute, 2 lb.
read -r rport iport c1 c2 c3 l1 l2 < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)
host=127.0.0.1
identity="http://$host:$iport"
computes=("http://$host:$c1" "http://$host:$c2" "http://$host:$c3")
lbs=("http://$host:$l1" "http://$host:$l2")
namespace="replicas-$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
echo "==> replicas ($backend store, namespace $namespace): redis $rport, identity $iport," \
     "compute $c1 $c2 $c3, lb $l1 $l2 (bin dir $bin_dir)"

# Redis: in the foreground of its own process (so its pid is ours), loopback only, nothing
# written to disk. The suite restarts it with exactly this command.
redis_cmd=("$redis_server" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no
           --daemonize no --dir "$work")
"${redis_cmd[@]}" >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
python3 - "$rport" "$redis_pid" <<'PY'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 20
while True:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(64).startswith(b"+PONG"):
                break
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        print("FAILED: redis-server exited at start", file=sys.stderr)
        sys.exit(2)
    if time.monotonic() > deadline:
        print(f"FAILED: redis-server not answering PING on port {port} after 20 s", file=sys.stderr)
        sys.exit(2)
    time.sleep(0.1)
PY

store_env=()
if [ "$backend" = redis ]; then
  store_env=(UNDERSTUDY__STORE__BACKEND=redis
             "UNDERSTUDY__STORE__URL=redis://$host:$rport/0"
             "UNDERSTUDY__STORE__NAMESPACE=$namespace")
fi

# Identity owns the catalog: its own defaults with the default ports moved to the chosen
# ones, as e2e/topology/run.sh does; Compute and Load Balancers are their first replicas.
sed -e 's|:5000/|:@IPORT@/|g; s|:8774/|:@CPORT@/|g; s|:9876/|:@LPORT@/|g' \
    -e "s|@IPORT@|$iport|g; s|@CPORT@|$c1|g; s|@LPORT@|$l1|g" \
    "$repo/identity-mock/src/defaults.toml" >"$work/identity.toml"
env "${store_env[@]}" \
  UNDERSTUDY__CATALOG__IDENTITY_URL="$identity" \
  UNDERSTUDY__SERVER__HOST=$host UNDERSTUDY__SERVER__PORT="$iport" \
  "$bin_dir/identity-mock" --config "$work/identity.toml" >"$work/identity.log" 2>&1 &
pids+=($!)

compute_pids=()
for i in 1 2 3; do
  port_var="c$i"
  env "${store_env[@]}" \
    UNDERSTUDY__SERVER__HOST=$host UNDERSTUDY__SERVER__PORT="${!port_var}" \
    UNDERSTUDY__CATALOG__IDENTITY_URL="$identity" \
    "$bin_dir/compute-mock" >"$work/compute-$i.log" 2>&1 &
  pids+=($!)
  compute_pids+=($!)
done

lb_pids=()
for i in 1 2; do
  port_var="l$i"
  env "${store_env[@]}" \
    UNDERSTUDY__SERVER__HOST=$host UNDERSTUDY__SERVER__PORT="${!port_var}" \
    UNDERSTUDY__CATALOG__IDENTITY_URL="$identity" \
    UNDERSTUDY__LB__PENDING_UPDATE_TIME_MS="$lb_pending_ms" \
    "$bin_dir/lb-mock" >"$work/lb-$i.log" 2>&1 &
  pids+=($!)
  lb_pids+=($!)
done

echo "==> waiting for GET /_understudy/v1/ready on all six"
python3 - "$identity" "${computes[@]}" "${lbs[@]}" -- "${pids[@]}" <<'PY'
import os, sys, time, urllib.request, urllib.error
urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))
sep = sys.argv.index("--")
pending = list(sys.argv[1:sep])
pids = [int(p) for p in sys.argv[sep + 1:]]
deadline = time.monotonic() + 60
last = {}
while pending:
    for pid in pids:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:  # a zombie has exited too
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    raise ProcessLookupError
        except FileNotFoundError:
            pass
        except ProcessLookupError:
            print(f"FAILED: process {pid} exited before the replicas were ready", file=sys.stderr)
            sys.exit(2)
    url = pending[0]
    try:
        with urllib.request.urlopen(url + "/_understudy/v1/ready", timeout=2) as r:
            if r.status == 200:
                pending.pop(0)
                continue
    except urllib.error.HTTPError as e:
        last[url] = f"{e.code} {e.read()[:300]!r}"
    except (urllib.error.URLError, OSError) as e:
        last[url] = str(e)
    if time.monotonic() > deadline:
        print(f"FAILED: {url} not ready after 60 s (last answer: {last.get(url)})", file=sys.stderr)
        sys.exit(2)
    time.sleep(0.1)
PY

join() { local IFS=,; echo "$*"; }
# The suite runs in the background so that INT or TERM reaches the trap at once (a
# foreground command would delay it until the suite ends); the cleanup stops the suite first.
# It SIGKILLs a replica: the shell's own "Killed" notice of that job is silenced (fd 2 of
# the group), the suite's stderr is not (fd 3); fd 4 keeps the real one for the cleanup.
set +e
{ python3 "$here/test_replicas.py" \
  --identity "$identity" \
  --compute "$(join "${computes[@]}")" \
  --lb "$(join "${lbs[@]}")" \
  --compute-pids "$(join "${compute_pids[@]}")" \
  --lb-pids "$(join "${lb_pids[@]}")" \
  --redis-port "$rport" \
  --redis-pid "$redis_pid" \
  --redis-cmd "$(printf '%q ' "${redis_cmd[@]}")" \
  --redis-pidfile "$restarted_pidfile" \
  --redis-log "$work/redis-restarted.log" \
  --lb-pending-update-ms "$lb_pending_ms" \
  --backend "$backend" \
  "${suite_args[@]}" 2>&3 &
  suite_pid=$!
  wait "$suite_pid"
  rc=$?
  suite_pid=
} 3>&2 4>&2 2>/dev/null
set -e
exit "$rc"
