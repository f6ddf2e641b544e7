#!/usr/bin/env bash
# Starts the Understudy launcher on free ports, runs the bad-input corpus against it, and
# stops the launcher whatever happens.
#
#   e2e/corpus/run.sh [BIN_DIR]      # BIN_DIR defaults to <repo>/target/debug
#
# Extra arguments after BIN_DIR go to test_corpus.py (e.g. --only "clb POST", -v).
# Exit code: the test's (2 on a start-up error). The launcher's log is printed on failure.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="${1:-$(cd "$here/../.." && pwd)/target/debug}"
shift || true
[ -x "$bin_dir/understudy" ] || { echo "FAILED: $bin_dir/understudy is not an executable" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/understudy-corpus.XXXXXX")"
pid=""
cleanup() {
  local rc=$?
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$work/understudy.log" ]; then
    echo "---- last lines of understudy.log ----" >&2
    tail -n 20 "$work/understudy.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
identity="http://127.0.0.1:$iport"
compute="http://127.0.0.1:$cport"
lb="http://127.0.0.1:$lport"
echo "==> launcher: identity $iport, compute $cport, lb $lport (bin dir $bin_dir)"
"$bin_dir/understudy" --identity-port "$iport" --compute-port "$cport" --lb-port "$lport" \
  >"$work/understudy.log" 2>&1 &
pid=$!

echo "==> waiting for GET /_understudy/v1/ready on all three"
python3 - "$pid" "$identity" "$compute" "$lb" <<'PY'
import os, sys, time, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
pid, pending = int(sys.argv[1]), list(sys.argv[2:])
deadline = time.monotonic() + 60
while pending:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                raise ProcessLookupError
    except FileNotFoundError:
        pass
    except ProcessLookupError:
        print("FAILED: the launcher exited before the stack was ready", file=sys.stderr)
        sys.exit(2)
    try:
        with opener.open(pending[0] + "/_understudy/v1/ready", timeout=2) as r:
            if r.status == 200:
                pending.pop(0)
                continue
    except (urllib.error.URLError, OSError):
        pass
    if time.monotonic() > deadline:
        print(f"FAILED: {pending[0]} not ready after 60 s", file=sys.stderr)
        sys.exit(2)
    time.sleep(0.1)
PY

set +e
python3 "$here/test_corpus.py" "$identity" "$compute" "$lb" "$@"
rc=$?
set -e
exit "$rc"
