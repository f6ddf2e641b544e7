#!/usr/bin/env bash
# Stop the Keystone that start.sh started from WORKDIR (its gunicorn, by the pid it wrote).
#
#   e2e/keystone/stop.sh WORKDIR
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 WORKDIR" >&2
    exit 2
fi
PIDFILE="$1/keystone.pid"
if [ ! -f "$PIDFILE" ]; then
    echo "keystone/stop: no $PIDFILE; nothing to stop" >&2
    exit 0
fi
PID=$(cat "$PIDFILE")
if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    for _ in $(seq 1 50); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$PID" 2>/dev/null; then
        echo "keystone/stop: pid $PID still running after 10s; sending KILL" >&2
        kill -KILL "$PID" 2>/dev/null
    fi
    echo "keystone/stop: stopped pid $PID" >&2
else
    echo "keystone/stop: pid $PID is not running" >&2
fi
rm -f "$PIDFILE"
