#!/usr/bin/env bash
# The bad-input corpus against the launcher: e2e/topology/run.sh starts it on free ports,
# waits until all three mocks are ready, runs test_corpus.py and stops the launcher
# whatever happens.
#
#   e2e/corpus/run.sh [BIN_DIR] [test args…]   # e.g. --only "clb POST" -v
#
# BIN_DIR defaults to <repo>/target/debug. Exit code: the corpus's (2 on a start-up error).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
E2E_TEST="$here/test_corpus.py" exec "$here/../topology/run.sh" launcher "$@"
