#!/usr/bin/env bash
# The function in AWS's own Lambda runtime: installs (or finds cached) the
# Terraform toolchain, the Lambda Runtime Interface Emulator and the Node.js
# Runtime Interface Client through scripts/toolchain/ensure.sh, then runs the
# vitest project `runtime` (test/runtime/*.test.ts) with the toolchain's env.sh.
# Called by `npm test` after the toolchain layer; `npm run test:runtime` alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/toolchain/ensure.sh >/dev/null
# shellcheck source=/dev/null
source "${DYNAMO_REPLICATOR_CACHE:-$HOME/.cache/dynamo-replicator}/toolchain/env.sh"
echo "aws-lambda-rie: $AWS_LAMBDA_RIE_BIN; aws-lambda-ric: $(readlink -f "$AWS_LAMBDA_RIC_BIN"); $TERRAFORM_BINARY plans the functions"
npx vitest run --project runtime "$@"
