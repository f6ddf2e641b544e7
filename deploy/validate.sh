#!/usr/bin/env bash
# Validates the Kubernetes manifests of deploy/kubernetes, offline once installed:
#   - a venv under target/ (python3 -m venv) with kubernetes-validate, pinned, from PyPI;
#     its wheel carries the Kubernetes JSON schemas, so nothing else is downloaded;
#   - every resource of every file kustomization.yaml lists, against the strict schema of
#     Kubernetes $K8S_VERSION (default 1.30.0);
#   - the cross-checks a schema cannot make (labels and selectors, probe ports and paths,
#     ConfigMaps, and every URL the mocks are given naming a Service port);
#   - with kubectl or kustomize installed, the rendered kustomization, again;
#   - a negative self-test: deliberately broken copies in a temporary folder must fail.
# Ends with "kubernetes: N passed, M failed"; exits non-zero when anything failed.
#
#   deploy/validate.sh                 # everything
#   K8S_VERSION=1.33.0 deploy/validate.sh
#   deploy/validate.sh --verbose       # print every check, not only failures
#   deploy/validate.sh --no-render     # files only, even where kubectl is installed
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=${K8S_VERSION:-1.30.0}
venv=${UNDERSTUDY_DEPLOY_VENV:-target/deploy-venv}
requirements=deploy/requirements-validate.txt

# (Re)build the venv when it is missing or the pins changed.
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
  echo "==> venv $venv: pip install -r $requirements"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$requirements" || { echo "kubernetes: 0 passed, 1 failed"; exit 1; }
  cp "$requirements" "$stamp"
fi

echo "==> validate deploy/kubernetes against Kubernetes $K8S_VERSION"
exec "$venv/bin/python" deploy/validate_manifests.py \
  --dir deploy/kubernetes \
  --kubernetes-version "$K8S_VERSION" \
  --stack-toml docker/stack.toml \
  --self-test "$@"
