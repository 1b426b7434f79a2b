#!/usr/bin/env bash
# Runs one DynamoDB Local engine in the foreground, for poking at it by hand:
#   scripts/dynamodb-local/run.sh [port]     (a free port when none is given)
# Installs the engine on first use (Maven), exactly as the tests and the demo do, and
# stops it on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx --input-type=module -e "
  import { startDynamoDbLocal } from './test/support/dynamodb-local.ts';
  const port = process.argv[1] ? Number(process.argv[1]) : undefined;
  const engine = await startDynamoDbLocal(port === undefined ? {} : { port });
  console.log('DynamoDB Local on ' + engine.endpoint + ' (started in ' + engine.startupMs + ' ms); Ctrl-C stops it.');
  const stop = () => engine.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
" "${1:-}"
