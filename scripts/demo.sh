#!/usr/bin/env bash
# `npm run demo`: live one-way replication on local DynamoDB engines, then a check of
# every slave against the master. Installs what it lacks (npm dependencies here,
# DynamoDB Local from Maven Central in the demo itself), builds nothing: it runs the
# committed bundle dist/lambda/index.mjs. Options: `npm run demo -- --help`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/tsx ] || [ ! -d node_modules/@aws-sdk/client-dynamodb-streams ]; then
  echo "Installing npm dependencies (npm ci)..."
  npm ci --no-audit --no-fund
fi

# One process, not the `tsx` CLI: that CLI runs the script in a child and, when the child
# is slow to acknowledge a Ctrl-C (a busy machine), signals it again and then kills it,
# which would cut the demo's clean shutdown short.
exec node --import tsx scripts/demo/main.ts "$@"
