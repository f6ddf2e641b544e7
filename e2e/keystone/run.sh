#!/usr/bin/env bash
# A real Keystone, then Compute and Load Balancers mocks in remote mode beside it; Keystone is
# always stopped. The last line is `keystone: N passed, M failed`; the exit status is non-zero
# on any failure (a Keystone that does not start counts as one).
#
#   e2e/keystone/run.sh
#
# Environment: UNDERSTUDY_BIN_DIR (mock binaries, default <repo>/target/debug),
# KEYSTONE_VENV (default <repo>/target/keystone-venv), KEYSTONE_PORT (default: a free
# port), KEYSTONE_WORKDIR (default: a new temporary directory, kept for its logs).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${KEYSTONE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
WORKDIR=${KEYSTONE_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/understudy-keystone.XXXXXX")}

trap '"$HERE/stop.sh" "$WORKDIR" >>"$WORKDIR/stop.log" 2>&1' EXIT
echo "keystone/run: port $PORT, workdir $WORKDIR (logs stay there)" >&2
if ! "$HERE/start.sh" "$PORT" "$WORKDIR"; then
    echo "FAIL  keystone did not start; see $WORKDIR/keystone.log and $WORKDIR/gunicorn.log"
    echo "keystone: 0 passed, 1 failed"
    exit 1
fi
python3 "$HERE/test_remote.py" "http://127.0.0.1:$PORT" "$WORKDIR"
