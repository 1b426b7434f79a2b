#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json; quiet and quick otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)..."
  npm ci --no-audit --no-fund
fi
