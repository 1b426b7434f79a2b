#!/usr/bin/env bash
# `npm test`: every test layer, on a fresh clone or a warm one. Installs what it lacks; a layer that cannot run
# fails the whole run (nothing is skipped). Prints the wall time of each layer at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
timings=()
layer() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  printf '\n=== %s ===\n' "$name"
  if ! "$@"; then
    printf '\n=== FAILED: %s ===\n' "$name" >&2
    exit 1
  fi
  timings+=("$(printf '%-28s %5ss' "$name" $(($(date +%s) - t0)))")
}

# The Terraform toolchain may have to be compiled from source on a new machine (about ten minutes, see
# scripts/toolchain/README.md): start it first, beside the Node.js install and layers, and wait for it before the
# Terraform ones.
toolchain_log=$(mktemp -t toolchain.XXXXXX.log)
bash scripts/toolchain/ensure.sh >"$toolchain_log" 2>&1 &
toolchain_pid=$!
trap 'kill "$toolchain_pid" 2>/dev/null || true' EXIT

bash scripts/ensure-node-deps.sh

# The bundle and the zip the module deploys are committed: both must be what a fresh build of handler/ writes.
bundle_is_fresh() {
  local committed file stale=0
  committed=$(mktemp -d)
  for file in index.mjs function.zip; do
    if [[ -f dist/lambda/$file ]]; then cp "dist/lambda/$file" "$committed/$file"; fi
  done
  npm run --silent build
  for file in index.mjs function.zip; do
    if ! cmp -s "$committed/$file" "dist/lambda/$file"; then
      echo "dist/lambda/$file differs from a fresh build of handler/: run 'npm run build' and commit dist/lambda/$file" >&2
      stale=1
    fi
  done
  rm -rf "$committed"
  return "$stale"
}

wait_for_toolchain() {
  if ! wait "$toolchain_pid"; then
    cat "$toolchain_log" >&2
    echo "the Terraform toolchain could not be installed (log above)" >&2
    return 1
  fi
  cat "$toolchain_log"
}

layer 'type check' npx tsc --noEmit -p tsconfig.json
layer 'lint' npx eslint .
layer 'bundle freshness' bundle_is_fresh
layer 'unit tests' npx vitest run --project unit --coverage
layer 'package' node test/package/check-package.mjs
layer 'integration tests' npx vitest run --project integration
layer 'terraform toolchain' wait_for_toolchain
layer 'lambda runtime (RIE + RIC)' bash test/runtime/run.sh
layer 'terraform checks and terratest' bash scripts/terraform-test.sh
layer 'opentofu validate and plans' bash scripts/opentofu-test.sh

printf '\n=== wall time per layer ===\n'
printf '%s\n' "${timings[@]}"
printf '%-28s %5ss\n' 'total' $(($(date +%s) - started))
