#!/usr/bin/env bash
# Start a real Keystone (from PyPI, pinned in requirements.txt) on 127.0.0.1:PORT, on sqlite
# with fernet tokens, served by gunicorn, in the background.
#
#   e2e/keystone/start.sh PORT WORKDIR
#
# WORKDIR gets keystone.conf, keystone.db, fernet-keys/, credential-keys/, keystone.log,
# keystone.pid and credentials.env (the test users, as shell assignments).
# The venv is ${KEYSTONE_VENV:-<repo>/target/keystone-venv}; it is reused while
# requirements.txt is unchanged. Needs python3 (3.11+; keystone 30 requires >=3.11) and PyPI.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 PORT WORKDIR" >&2
    exit 2
fi
PORT=$1
WORKDIR=$(mkdir -p "$2" && cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${KEYSTONE_VENV:-$(cd "$(dirname "$0")/../.." && pwd)/target/keystone-venv}
PYTHON=${PYTHON:-python3}
URL="http://127.0.0.1:${PORT}"

# Fixed test credentials (nothing here is secret).
ADMIN_USER=admin
ADMIN_PASSWORD=understudy-admin-pw
ADMIN_PROJECT=admin
REGION=ORD

log() { echo "keystone/start: $*" >&2; }

# --- venv ---------------------------------------------------------------------------------
REQ="$HERE/requirements.txt"
STAMP="$VENV/.understudy-requirements.sha256"
WANT=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/keystone-manage" ] || [ ! -x "$VENV/bin/gunicorn" ] \
    || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    log "installing keystone into $VENV (pinned by $REQ)"
    t0=$(date +%s)
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$WANT" > "$STAMP"
    log "installed in $(( $(date +%s) - t0 ))s"
else
    log "reusing $VENV"
fi

# --- already running? ---------------------------------------------------------------------
if [ -f "$WORKDIR/keystone.pid" ] && kill -0 "$(cat "$WORKDIR/keystone.pid")" 2>/dev/null; then
    log "a keystone already runs from $WORKDIR (pid $(cat "$WORKDIR/keystone.pid")); run stop.sh first"
    exit 1
fi

# --- configuration ------------------------------------------------------------------------
mkdir -p "$WORKDIR/fernet-keys" "$WORKDIR/credential-keys"
chmod 700 "$WORKDIR/fernet-keys" "$WORKDIR/credential-keys"
cat > "$WORKDIR/keystone.conf" <<EOF
[DEFAULT]
debug = false
log_file = $WORKDIR/keystone.log
use_stderr = false

[database]
connection = sqlite:///$WORKDIR/keystone.db

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = $WORKDIR/fernet-keys
max_active_keys = 3

[credential]
key_repository = $WORKDIR/credential-keys

[cache]
# No memcache and no in-process cache: a revocation is seen at once.
enabled = false

[catalog]
caching = false
EOF
export OS_KEYSTONE_CONFIG_DIR="$WORKDIR"
export OS_KEYSTONE_CONFIG_FILES=keystone.conf
# oslo.service imports eventlet, which warns on every keystone-manage run.
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::Warning:oslo_service.backend._eventlet.loopingcall"
KM=("$VENV/bin/keystone-manage" --config-file "$WORKDIR/keystone.conf")

log "db_sync, fernet_setup, credential_setup, bootstrap"
"${KM[@]}" db_sync
OWNER=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)")
"${KM[@]}" fernet_setup "${OWNER[@]}"
"${KM[@]}" credential_setup "${OWNER[@]}"
"${KM[@]}" bootstrap \
    --bootstrap-username "$ADMIN_USER" \
    --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-project-name "$ADMIN_PROJECT" \
    --bootstrap-role-name admin \
    --bootstrap-service-name keystone \
    --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "$URL" \
    --bootstrap-internal-url "$URL" \
    --bootstrap-public-url "$URL"

# --- serve --------------------------------------------------------------------------------
log "serving keystone.wsgi.api:application (through keystone_wsgi.py) on $URL with gunicorn"
cd "$WORKDIR"
setsid "$VENV/bin/gunicorn" \
    --bind "127.0.0.1:$PORT" \
    --workers 1 --threads 8 \
    --timeout 60 \
    --no-control-socket \
    --pythonpath "$HERE" \
    --error-logfile "$WORKDIR/gunicorn.log" \
    --access-logfile "$WORKDIR/access.log" \
    keystone_wsgi:application \
    > "$WORKDIR/gunicorn.out" 2>&1 < /dev/null &
echo $! > "$WORKDIR/keystone.pid"

for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "$URL/v3" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$(cat "$WORKDIR/keystone.pid")" 2>/dev/null; then
        log "gunicorn exited:"; tail -30 "$WORKDIR/gunicorn.log" "$WORKDIR/gunicorn.out" >&2
        exit 1
    fi
    sleep 0.5
done
if ! curl -fsS -o /dev/null "$URL/v3"; then
    log "no answer from $URL/v3 after 60s"; tail -30 "$WORKDIR/gunicorn.log" >&2
    exit 1
fi

# --- test projects and users --------------------------------------------------------------
"$VENV/bin/python" "$HERE/provision.py" "$URL" "$ADMIN_USER" "$ADMIN_PASSWORD" "$ADMIN_PROJECT" \
    > "$WORKDIR/credentials.env"
cat >> "$WORKDIR/credentials.env" <<EOF
KEYSTONE_URL=$URL
KEYSTONE_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("keystone"))')
EOF

log "keystone is up at $URL (pid $(cat "$WORKDIR/keystone.pid")); credentials:"
cat "$WORKDIR/credentials.env"
