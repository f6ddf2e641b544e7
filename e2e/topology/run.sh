#!/usr/bin/env bash
# Starts one topology of the Understudy stack on free ports, runs a suite against it
# (test_topology.py, or the script E2E_TEST names, e.g. the corpus), and stops what it
# started, whatever happens.
#
#   e2e/topology/run.sh launcher [BIN_DIR] [suite args…]   # `understudy`: one process
#   e2e/topology/run.sh binaries [BIN_DIR] [suite args…]   # three processes
#
# The suite is run as `SUITE IDENTITY COMPUTE LB --topology NAME [suite args…]`.
# BIN_DIR defaults to <repo>/target/debug. Exit code: the suite's (2 on a usage or
# start-up error). Logs of the mocks go to a temp dir, printed on failure.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
topology="${1:-}"
bin_dir="${2:-$(cd "$(dirname "$0")/../.." && pwd)/target/debug}"
suite="${E2E_TEST:-$here/test_topology.py}"
suite_args=("${@:3}")
case "$topology" in
  launcher|binaries) ;;
  *) echo "usage: $0 launcher|binaries [BIN_DIR]" >&2; exit 2 ;;
esac

case "$topology" in
  launcher) needed=(understudy) ;;
  binaries) needed=(identity-mock compute-mock lb-mock) ;;
esac
for b in "${needed[@]}"; do
  [ -x "$bin_dir/$b" ] || { echo "FAILED: $bin_dir/$b is not an executable" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/understudy-topology.XXXXXX")"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    # Give each process its grace period, then insist.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
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

# Three distinct free ports (bound together, then released).
read -r iport cport lport < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)
host=127.0.0.1
identity="http://$host:$iport"
compute="http://$host:$cport"
lb="http://$host:$lport"
echo "==> $topology: identity $iport, compute $cport, lb $lport (bin dir $bin_dir)"

case "$topology" in
  launcher)
    "$bin_dir/understudy" --identity-port "$iport" --compute-port "$cport" --lb-port "$lport" \
      >"$work/understudy.log" 2>&1 &
    pids+=($!)
    ;;
  binaries)
    # Identity owns the catalog: its own defaults, with the default ports moved to the
    # chosen ones all at once (so the catalog never drifts from identity-mock's defaults).
    sed -e 's|:5000/|:@IPORT@/|g; s|:8774/|:@CPORT@/|g; s|:9876/|:@LPORT@/|g' \
        -e "s|@IPORT@|$iport|g; s|@CPORT@|$cport|g; s|@LPORT@|$lport|g" \
        "$here/../../identity-mock/src/defaults.toml" >"$work/identity.toml"
    UNDERSTUDY__CATALOG__IDENTITY_URL="$identity" \
    UNDERSTUDY__SERVER__HOST=$host UNDERSTUDY__SERVER__PORT=$iport \
      "$bin_dir/identity-mock" --config "$work/identity.toml" >"$work/identity.log" 2>&1 &
    pids+=($!)
    UNDERSTUDY__SERVER__HOST=$host UNDERSTUDY__SERVER__PORT=$cport \
      UNDERSTUDY__CATALOG__IDENTITY_URL="$identity" \
      "$bin_dir/compute-mock" >"$work/compute.log" 2>&1 &
    pids+=($!)
    UNDERSTUDY__SERVER__HOST=$host UNDERSTUDY__SERVER__PORT=$lport \
      UNDERSTUDY__CATALOG__IDENTITY_URL="$identity" \
      "$bin_dir/lb-mock" >"$work/lb.log" 2>&1 &
    pids+=($!)
    ;;
esac

echo "==> waiting for GET /_understudy/v1/ready on all three"
python3 - "$identity" "$compute" "$lb" "${pids[@]}" <<'PY'
import os, sys, time, urllib.request, urllib.error
urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))
deadline = time.monotonic() + 60
pending = list(sys.argv[1:4])
pids = [int(p) for p in sys.argv[4:]]
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
            print(f"FAILED: process {pid} exited before the stack was ready", file=sys.stderr)
            sys.exit(2)
    url = pending[0]
    try:
        with urllib.request.urlopen(url + "/_understudy/v1/ready", timeout=2) as r:
            if r.status == 200:
                pending.pop(0)
                continue
    except (urllib.error.URLError, OSError):
        pass
    if time.monotonic() > deadline:
        print(f"FAILED: {url} not ready after 60 s", file=sys.stderr)
        sys.exit(2)
    time.sleep(0.1)
PY

set +e
python3 "$suite" "$identity" "$compute" "$lb" --topology "$topology" "${suite_args[@]}"
rc=$?
set -e
exit "$rc"
