#!/usr/bin/env bash
# The Python client's suite against the real binary:
#
#   clients/python/run-tests.sh [BIN_DIR]        # BIN_DIR default: target/debug
#
# Builds (once) a venv at target/python-client-venv, installs this package from its
# directory (pip install ./clients/python, as a user would) with pinned pytest, mypy and
# jsonschema (the tests check the journal's HAR against tests/har-1.2.schema.json), then
# runs `mypy --strict` over the package, its tests and the examples, and one pytest
# session over tests/ and examples/ against BIN_DIR/understudy (the plugin starts it on
# free ports and stops it). Failing tests leave their journal and state under
# target/python-client-artifacts. Ends with one line "python-client: N passed, M failed"
# (pytest's passed; its failed and errors, plus 1 if mypy failed); exits 1 if M > 0.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin_dir=${1:-target/debug}
case "$bin_dir" in /*) ;; *) bin_dir="$root/$bin_dir" ;; esac
binary="$bin_dir/understudy"
venv="$root/target/python-client-venv"
artifacts="$root/target/python-client-artifacts"
python="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

finish() { # passed failed
  echo "python-client: $1 passed, $2 failed"
  [ "$2" -eq 0 ]
  exit $?
}

if [ ! -x "$binary" ]; then
  echo "python-client: no binary at $binary (build it: cargo build -p understudy)" >&2
  finish 0 1
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || { echo "python-client: cannot create $venv" >&2; finish 0 1; }
fi
# Pinned tools; the package itself is reinstalled every run (it is the thing under test).
# jsonschema (with what pip resolved for it, rfc3339-validator for its date-time format
# and the typeshed stubs for mypy) is for the tests only: the package has no dependencies.
"$venv/bin/pip" install -q "pytest==9.2.0" "mypy==2.4.1" "setuptools==84.2.1" \
  "jsonschema==4.26.0" "attrs==26.1.0" "jsonschema-specifications==2025.9.1" \
  "referencing==0.37.0" "rpds-py==2026.9.1" "typing-extensions==4.16.0" \
  "rfc3339-validator==0.1.4" "six==1.17.0" "types-jsonschema==4.26.0.20261006" ||
  { echo "python-client: cannot install pytest/mypy/jsonschema" >&2; finish 0 1; }
"$venv/bin/pip" install -q --force-reinstall --no-deps --no-build-isolation "$here" ||
  { echo "python-client: cannot install the package" >&2; finish 0 1; }
# pip builds in a build/ folder of the source tree; leave the tree as it was.
rm -rf "$here/build" "$here/src/understudy.egg-info"

passed=0
failed=0

echo "==> mypy --strict (package, tests, examples)"
if (cd "$here" && "$venv/bin/mypy" --strict --cache-dir "$root/target/python-client-mypy-cache" \
      src/understudy tests examples); then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "==> pytest tests examples against $binary"
log=$(mktemp)
(
  cd "$here" &&
    env -u UNDERSTUDY_URL -u UNDERSTUDY_ADMIN_TOKEN UNDERSTUDY_BIN="$binary" \
      "$venv/bin/python" -m pytest tests examples -p no:cacheprovider -rfE \
      --understudy-artifacts="$artifacts" </dev/null
) 2>&1 | tee "$log"
# pytest's closing line, e.g. "==== 2 failed, 38 passed, 1 skipped in 9.81s ====".
summary=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$log" | tail -1)
rm -f "$log"
if [ -z "$summary" ]; then
  echo "python-client: pytest printed no summary" >&2
  failed=$((failed + 1))
else
  count() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '^[0-9]+' || echo 0; }
  passed=$((passed + $(count passed)))
  failed=$((failed + $(count failed) + $(count errors?)))
  [ "$(count passed)" -gt 0 ] || { echo "python-client: pytest ran no test" >&2; failed=$((failed + 1)); }
fi
finish "$passed" "$failed"
