#!/usr/bin/env bash
# Drives the console (GET /_understudy/ui/) in a real headless Chromium: starts the launcher
# (`understudy`, the whole stack in one process) on free ports, runs test_console.py with
# Selenium against it, and stops the launcher whatever happens.
#
#   e2e/console/run.sh [BIN_DIR] [suite args…]     # e.g. --only clock_freeze_advance, -v
#
# BIN_DIR defaults to <repo>/target/debug. The last line is `console: N passed, M failed`;
# the exit status is non-zero on any failure (a stack or a venv that cannot be set up
# counts as one failure). Screenshots go to <repo>/target/console-screenshots/.
#
# Environment:
#   CONSOLE_VENV        the venv with Selenium (default <repo>/target/console-venv; created
#                       and filled from requirements.txt when missing or out of date)
#   CHROMIUM            the browser (default /usr/bin/chromium, Debian's `chromium`)
#   CHROMEDRIVER        its driver (default /usr/bin/chromedriver, Debian's `chromium-driver`)
#   CONSOLE_SCREENSHOTS where the screenshots go (default <repo>/target/console-screenshots)
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin_dir="${1:-$repo/target/debug}"
suite_args=("${@:2}")
venv="${CONSOLE_VENV:-$repo/target/console-venv}"
shots="${CONSOLE_SCREENSHOTS:-$repo/target/console-screenshots}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# Selenium Manager must never go looking for (or download) a browser or a driver.
export SE_OFFLINE=true

case "$bin_dir" in
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

fail_setup() {
  if [ -n "${work:-}" ] && [ -f "$work/understudy.log" ]; then
    echo "---- last lines of understudy.log ----"
    tail -n 20 "$work/understudy.log" || true
  fi
  echo "FAIL  setup: $*"
  echo "console: 0 passed, 1 failed"
  exit 1
}

[ -x "$bin_dir/understudy" ] || fail_setup "$bin_dir/understudy is not an executable"
[ -x "$CHROMIUM" ] || fail_setup "$CHROMIUM is not an executable (apt-get install chromium)"
[ -x "$CHROMEDRIVER" ] || fail_setup "$CHROMEDRIVER is not an executable (apt-get install chromium-driver)"

# The venv: reused while requirements.txt is the one it was filled from.
stamp="$venv/.console-requirements"
if ! [ -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$stamp"; then
  echo "==> filling $venv from e2e/console/requirements.txt"
  { python3 -m venv "$venv" &&
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" &&
    cp "$here/requirements.txt" "$stamp"; } || fail_setup "cannot install Selenium into $venv"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/understudy-console.XXXXXX")"
pid=""
cleanup() {
  local rc=$?
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
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
identity="http://127.0.0.1:$iport"
compute="http://127.0.0.1:$cport"
lb="http://127.0.0.1:$lport"
echo "==> understudy: identity $iport, compute $cport, lb $lport (bin dir $bin_dir)"
"$bin_dir/understudy" --identity-port "$iport" --compute-port "$cport" --lb-port "$lport" \
  >"$work/understudy.log" 2>&1 &
pid=$!

echo "==> waiting for GET /_understudy/v1/ready on identity (then compute and lb)"
if ! python3 - "$pid" "$identity" "$compute" "$lb" <<'PY'
import os, sys, time, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
pid, pending = int(sys.argv[1]), list(sys.argv[2:])
deadline = time.monotonic() + 60
while pending:
    try:
        with open(f"/proc/{pid}/stat") as f:  # gone, or a zombie: it has exited
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                raise FileNotFoundError
    except FileNotFoundError:
        print(f"understudy (pid {pid}) exited before the stack was ready", file=sys.stderr)
        sys.exit(1)
    try:
        with opener.open(pending[0] + "/_understudy/v1/ready", timeout=2) as r:
            if r.status == 200:
                pending.pop(0)
                continue
    except (urllib.error.URLError, OSError):
        pass
    if time.monotonic() > deadline:
        print(f"{pending[0]} not ready after 60 s", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.1)
PY
then
  fail_setup "the stack did not become ready"
fi

"$venv/bin/python" -u "$here/test_console.py" "$identity" "$compute" "$lb" \
  --screenshots "$shots" "${suite_args[@]}" | tee "$work/suite.out"
rc=${PIPESTATUS[0]}
if ! grep -q '^console: [0-9]* passed, [0-9]* failed$' "$work/suite.out"; then
  # The suite died before its count (or was asked for --help): one failure, said so.
  [ "$rc" -eq 0 ] && exit 0
  echo "FAIL  suite: test_console.py exited with status $rc before its count"
  echo "console: 0 passed, 1 failed"
  exit 1
fi
exit "$rc"
