#!/usr/bin/env bash
# Builds the mocks as static executables on the host, for docker/Dockerfile.scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked --target x86_64-unknown-linux-gnu \
  --bin identity-mock --bin compute-mock --bin lb-mock
