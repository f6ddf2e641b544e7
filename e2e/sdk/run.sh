#!/usr/bin/env bash
# SDK compatibility suite: real client libraries against a running Understudy stack.
#
#   e2e/sdk/run.sh IDENTITY_URL [USER PASSWORD [API_KEY [TENANT_ID]]]
#
# IDENTITY_URL   Identity's base URL, e.g. http://localhost:5000 (the catalog it serves
#                names Compute and Load Balancers).
# USER PASSWORD  given: Identity is in strict user mode and this is the good user; every SDK
#                also checks that a bad password is refused. Absent: open mode, each SDK
#                makes up its own user, and the refusal checks are skipped.
# API_KEY        the user's API key (RAX-KSKEY) for libcloud and pyrax; else they use the
#                password. TENANT_ID: the tenant to scope to; else the user's default.
#
# Venvs live under ${SDK_VENVS:-<repo>/target/sdk-venvs}, one per requirements-*.txt, and are
# rebuilt only when that file (or the Python) changes. Prints one line per scenario (PASS,
# FAIL or SKIP; a failure's traceback and the requests the mocks journalled go to stderr)
# and ends with exactly one line "sdk: N passed, M failed"; exits 1 if any failed.
# Environment: PYTHON (default python3; must be 3.11 or older for pyrax), SDK_REGION (ORD),
# SDK_TIMEOUT (60 s per wait), SDK_ONLY (space-separated subset: openstacksdk novaclient
# libcloud pyrax), SDK_VERBOSE=1 (print each step).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ $# -lt 1 ] || [ $# -eq 2 ]; then
  echo "usage: $0 IDENTITY_URL [USER PASSWORD [API_KEY [TENANT_ID]]]" >&2
  exit 2
fi

export SDK_IDENTITY_URL="${1%/}"
if [ $# -ge 3 ]; then
  export SDK_STRICT=1 SDK_USER="$2" SDK_PASSWORD="$3" SDK_API_KEY="${4:-}" SDK_TENANT="${5:-}"
else
  export SDK_STRICT=0
  unset SDK_USER SDK_PASSWORD SDK_API_KEY SDK_TENANT
fi
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONWARNINGS=ignore
venvs="${SDK_VENVS:-$root/target/sdk-venvs}"
python="${PYTHON:-python3}"
only="${SDK_ONLY:-openstacksdk novaclient libcloud pyrax}"

passed=0
failed=0
fail() { # one scenario line for a failure outside the scripts
  echo "FAIL $*"
  failed=$((failed + 1))
}

# venv NAME CHECK_IMPORT PIP_ARGS...: ensures $venvs/NAME holds requirements-NAME.txt.
venv() {
  local name=$1 probe=$2
  shift 2
  local dir="$venvs/$name" req="$here/requirements-$name.txt" stamp want
  want="$(sha256sum "$req" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version)' | head -1)"
  stamp="$dir/.understudy-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  echo "sdk: building venv $dir" >&2
  rm -rf "$dir"
  mkdir -p "$venvs"
  "$python" -m venv "$dir" >&2 &&
    "$dir/bin/pip" install -q "$@" -r "$req" >&2 &&
    "$dir/bin/python" -c "$probe" >&2 &&
    echo "$want" >"$stamp"
}

# Wait (up to 30 s) for Identity to answer, so a stack still starting is not a failure.
for _ in $(seq 1 60); do
  if "$python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/v2.0', timeout=2)" \
    "$SDK_IDENTITY_URL" 2>/dev/null; then
    break
  fi
  sleep 0.5
done

# run_script SDK VENV: runs test_SDK.py in VENV and counts its PASS/FAIL lines.
run_script() {
  local sdk=$1 dir="$venvs/$2" out rc p f
  out=$(mktemp)
  (cd "$here" && "$dir/bin/python" "test_$sdk.py") | tee "$out"
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  rm -f "$out"
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    fail "$sdk: the script stopped with exit code $rc before reporting (see stderr)"
  fi
}

want() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if want openstacksdk || want novaclient || want libcloud; then
  if venv openstack "import openstack, keystoneauth1, novaclient.client, libcloud" &&
    "$venvs/openstack/bin/pip" check >/dev/null; then
    for sdk in openstacksdk novaclient libcloud; do
      if want "$sdk"; then run_script "$sdk" openstack; fi
    done
  else
    for sdk in openstacksdk novaclient libcloud; do
      if want "$sdk"; then fail "$sdk: venv $venvs/openstack could not be built (see stderr)"; fi
    done
  fi
fi

if want pyrax; then
  if venv pyrax "import pyrax, novaclient.v2.client, rackspace_auth_openstack" --no-deps; then
    run_script pyrax pyrax
  else
    fail "pyrax: venv $venvs/pyrax could not be built with $python (pyrax needs Python <= 3.11; see stderr)"
  fi
fi

echo "sdk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
