// Breaks each rule of issue 11 once, in a copy of the working tree, and checks that a test fails: a test that still
// passes with its rule broken cannot catch that rule's violation (issue 11, point 8).
//
//   npm run break-rules                    every mutation below
//   npm run break-rules -- --only '9:'     the mutations whose rule or mutation text contains the words
//   npm run break-rules -- --list          the mutations, without running anything
//   npm run break-rules -- --keep          keeps the copy (its path is printed) to look into a result
//   npm run break-rules -- --integration   also the mutations checked by the integration project (DynamoDB Local,
//                                          seconds each); the bundle is rebuilt in the copy for each
//
// The live tree is never written: the tracked and untracked (not ignored) files are copied to a temporary directory
// with node_modules linked, the unmutated test files run there once (they must pass, so a failure is the mutation's),
// then each mutation is applied in the copy, its test files run (`-t` where one test names the rule), and the file is
// restored. Exit 1 when a mutation survived (no test failed), a test failed for a reason other than an assertion (the
// mutated file does not load, or a name it uses is gone), a find string no longer occurs exactly once, or the
// unmutated run fails. See docs/testing.md.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * One broken rule. `rule` names it in words, with its point of issue 11 (or the isolation issue); `edits` are exact
 * strings of `file`, each of which must occur exactly once, and what replaces each; `tests` are the test files that
 * must fail, `testName` (optional) the words of the test(s) that state the rule, for `-t`. Keep each mutation a bug
 * someone could write (a dropped condition, a flipped comparison, a lost retry), and valid TypeScript.
 * `project` is `unit` unless the rule has no unit test; the integration project needs DynamoDB Local and is slow, so
 * its mutations run only with `--integration`, and its tests run the Lambda bundle, rebuilt in the copy for them.
 */
const MUTATIONS = [
  // Point 1: an abandoned write must never land after a newer one.
  {
    rule: '1: every attempt of a DynamoDB call has a request timeout',
    mutation: 'request-handler.ts: no requestTimeout',
    file: 'handler/request-handler.ts',
    edits: [{ find: '    requestTimeout: REQUEST_TIMEOUT_MS,\n', replace: '' }],
    tests: ['test/unit/clients.test.ts'],
    testName: 'fails an attempt that gets no answer after REQUEST_TIMEOUT_MS',
  },
  {
    rule: '1: every attempt of a DynamoDB call has a request timeout (one that fails the attempt)',
    mutation: 'request-handler.ts: the requestTimeout only logs a warning (no throwOnRequestTimeout, the SDK 4.x default)',
    file: 'handler/request-handler.ts',
    edits: [{ find: '    throwOnRequestTimeout: true,\n', replace: '    throwOnRequestTimeout: false,\n' }],
    tests: ['test/unit/clients.test.ts'],
    testName: 'fails an attempt that gets no answer after REQUEST_TIMEOUT_MS',
  },
  {
    rule: '1: every attempt of a DynamoDB call has a request timeout (through the bundle, a slave that holds its answers)',
    mutation: 'request-handler.ts: no requestTimeout (integration)',
    file: 'handler/request-handler.ts',
    edits: [{ find: '    requestTimeout: REQUEST_TIMEOUT_MS,\n', replace: '' }],
    project: 'integration',
    tests: ['test/integration/isolation.test.ts'],
    testName: 'holds its answers past the deadline',
  },
  {
    rule: '1: the legacy API runs with the same deadline margin as the function',
    mutation: 'config.ts libraryConfig: deadlineMarginMs 0',
    file: 'handler/config.ts',
    edits: [{ find: 'deadlineMarginMs: DEFAULTS.deadlineMarginMs,', replace: 'deadlineMarginMs: 0,' }],
    tests: ['test/unit/config.test.ts', 'test/unit/legacy.test.ts'],
  },
  // Point 2: STS failures.
  {
    rule: '2: an error of ours wrapping an SDK error (AssumeRole) is classified by its cause',
    mutation: 'retry.ts classifyFailure: the cause is not read',
    file: 'handler/retry.ts',
    edits: [{ find: '  if (error instanceof ReplicatorError && shape.cause !== undefined) return classifyFailure(shape.cause);\n', replace: '' }],
    tests: ['test/unit/retry.test.ts'],
    testName: 'wraps',
  },
  {
    rule: '2: a failed pending AssumeRole is dropped, so the next call assumes the role again',
    mutation: 'assume-role.ts: the pending call is cleared on success only',
    file: 'handler/assume-role.ts',
    edits: [
      {
        find: '        cached = fresh;\n        return fresh;\n      })\n      .finally(() => {\n        pending = undefined;\n      });',
        replace: '        cached = fresh;\n        pending = undefined;\n        return fresh;\n      });',
      },
    ],
    tests: ['test/unit/assume-role.test.ts'],
    testName: 'tries again on the next call',
  },
  {
    rule: '2: AssumeRole has a request timeout',
    mutation: "assume-role.ts: the STS client is built with the SDK's default request handler",
    file: 'handler/assume-role.ts',
    edits: [{ find: 'new STSClient({ region: options.region, maxAttempts: 1, requestHandler: boundedRequestHandler() })', replace: 'new STSClient({ region: options.region, maxAttempts: 1 })' }],
    tests: ['test/unit/assume-role.test.ts'],
    testName: 'fails an AssumeRole that gets no answer after REQUEST_TIMEOUT_MS',
  },
  // Point 3: skip_ttl_deletes on KEYS_ONLY and OLD_IMAGE streams.
  {
    rule: '3: with TTL deletes skipped, a read-back that finds no item does not delete it',
    mutation: 'replicator.ts resolveWrites: a key gone from the master is always deleted',
    file: 'handler/replicator.ts',
    edits: [{ find: '          current.set(change.keyId, null);', replace: "          current.set(change.keyId, { kind: 'delete', keyId: change.keyId, key: change.key });" }],
    tests: ['test/unit/replicator.test.ts'],
    testName: 'with TTL deletes skipped',
  },
  {
    rule: '3: ... unless the key had a user REMOVE (a TTL REMOVE does not count)',
    mutation: "replicator.ts resolveWrites: a TTL delete counts as a user's REMOVE",
    file: 'handler/replicator.ts',
    edits: [{ find: "change.change.kind === 'delete' && !change.isTtlDelete", replace: "change.change.kind === 'delete'" }],
    tests: ['test/unit/replicator.test.ts'],
    testName: 'with TTL deletes skipped',
  },
  // Point 4: an invalid record costs only itself.
  {
    rule: '4: an invalid record is re-delivered from itself, not from the start of the batch',
    mutation: 'replicator.ts keepUnusable: an unkept record holds the batch from its first record',
    file: 'handler/replicator.ts',
    edits: [{ find: "record.sequenceNumber ?? batch.changes[0]?.sequenceNumber ?? '0'", replace: "batch.changes[0]?.sequenceNumber ?? record.sequenceNumber ?? '0'" }],
    tests: ['test/unit/replicator.test.ts'],
    testName: 'unusable',
  },
  {
    rule: '4: an item the slave rejects as invalid fails alone, the others of its batch are written',
    mutation: 'slave-writer.ts: a batch rejected with ValidationException fails whole (no halving)',
    file: 'handler/slave-writer.ts',
    edits: [
      {
        find: '      if (isValidationError(error) && batch.length > 1) {\n        const half = Math.ceil(batch.length / 2);\n        await Promise.all([send(batch.slice(0, half), attempt, lastError), send(batch.slice(half), attempt, lastError)]);\n        return;\n      }\n',
        replace: '',
      },
    ],
    tests: ['test/unit/slave-writer.test.ts', 'test/unit/fan-out.test.ts'],
    testName: 'rejects',
  },
  // Point 5: 16 MB per call.
  {
    rule: '5: batches are sized by wire size, not by the 400 KB item size formula',
    mutation: 'slave-writer.ts batchesOf: sizes items with itemSize',
    file: 'handler/slave-writer.ts',
    edits: [
      { find: "import { MAX_REQUEST_BYTES, wireSize } from './item-size';", replace: "import { itemSize, MAX_REQUEST_BYTES } from './item-size';" },
      { find: 'const size = wireSize(', replace: 'const size = itemSize(' },
    ],
    tests: ['test/unit/batch-size.test.ts'],
    testName: 'splits 25 items',
  },
  {
    rule: '5: a BatchWriteItem call stays under 16 MB',
    mutation: 'slave-writer.ts batchesOf: splits by count only (25)',
    file: 'handler/slave-writer.ts',
    edits: [{ find: 'if (batch.length === MAX_BATCH_WRITE || (batch.length > 0 && bytes + size > MAX_REQUEST_BYTES)) {', replace: 'if (batch.length === MAX_BATCH_WRITE) {' }],
    tests: ['test/unit/batch-size.test.ts'],
    testName: 'splits 25 items',
  },
  {
    rule: '5: binary counts as base64 on the wire',
    mutation: 'item-size.ts wireSize: binary counted in raw bytes',
    file: 'handler/item-size.ts',
    edits: [{ find: 'if (value.B !== undefined) return wrapper + base64Size(value.B.byteLength);', replace: 'if (value.B !== undefined) return wrapper + value.B.byteLength;' }],
    tests: ['test/unit/batch-size.test.ts'],
    testName: 'bounds the wire size',
  },
  // Point 8: tests that cannot fail.
  {
    rule: '8: the backfill retries a throttled Scan',
    mutation: 'cli/scan.ts: the Scan is sent once, without retryCall',
    file: 'handler/cli/scan.ts',
    edits: [{ find: 'await retryCall((signal) => options.client.send(command, { abortSignal: signal }), `${where}: Scan`, { deadline, backoff });', replace: 'await options.client.send(command, { abortSignal: deadline.cutOff });' }],
    tests: ['test/unit/cli/backfill.test.ts', 'test/unit/cli/scan.test.ts'],
    testName: 'retries a throttled Scan',
  },
  {
    rule: '8: a rejected configuration stops the mapping, so no record is consumed (lambda.test.ts)',
    mutation: 'lambda.ts handler: a ConfigurationError is rethrown without refuse()',
    file: 'handler/lambda.ts',
    edits: [{ find: '    if (error instanceof ConfigurationError) await refuse(error, event, context);\n', replace: '' }],
    tests: ['test/unit/lambda.test.ts', 'test/unit/lambda.configuration.test.ts'],
  },
  // Point 9: both deadlines.
  {
    rule: '9: the invocation cuts off calls at FINAL_RESERVE_MS, after it stops starting them',
    mutation: 'timing.ts forInvocation: cut-off at the stop-starting deadline',
    file: 'handler/timing.ts',
    edits: [{ find: 'return new Deadline(end - marginMs, now, end - Math.min(marginMs, FINAL_RESERVE_MS));', replace: 'return new Deadline(end - marginMs, now);' }],
    tests: ['test/unit/timing.test.ts', 'test/unit/replicator.test.ts'],
    testName: 'in flight|forInvocation',
  },
  {
    rule: '9: a call in flight past stop-starting may finish until the cut-off',
    mutation: 'timing.ts race: races the stop-starting signal',
    file: 'handler/timing.ts',
    edits: [{ find: '    const signal = this.#cutOff.signal;\n    if (signal.aborted)', replace: '    const signal = this.#stopStarting.signal;\n    if (signal.aborted)' }],
    tests: ['test/unit/timing.test.ts'],
    testName: 'in flight past stopStarting',
  },
  {
    rule: '9: a deadline never cuts off before it stops starting',
    mutation: 'timing.ts constructor: the cut-off is not clamped to the stop-starting time',
    file: 'handler/timing.ts',
    edits: [{ find: 'this.#cutOffAt = Math.max(stopStartingAt, cutOffAt);', replace: 'this.#cutOffAt = cutOffAt;' }],
    tests: ['test/unit/timing.test.ts'],
    testName: 'never cuts off before it stops starting',
  },
  {
    rule: "9: a slave's budget ends halfway to the invocation's deadline, leaving time to park",
    mutation: 'timing.ts within: stops starting at the whole time left',
    file: 'handler/timing.ts',
    edits: [{ find: 'const stopAt = now + Math.min(budgetMs, left / 2);', replace: 'const stopAt = now + Math.min(budgetMs, left);' }],
    tests: ['test/unit/timing.test.ts'],
    testName: 'within',
  },
  {
    rule: '9: no write starts after stop-starting, even one already waiting for a place',
    mutation: 'slave-writer.ts: no deadline check once a batch gets its place',
    file: 'handler/slave-writer.ts',
    edits: [{ find: "        if (deadline.isOver()) return 'out-of-time';\n", replace: '' }],
    tests: ['test/unit/slave-writer.test.ts'],
    testName: 'starting none after it',
  },
  // Points 12 to 15: one retry policy, one rule for "the slave is the master itself".
  {
    rule: '14: the one retry policy never pauses past the deadline',
    mutation: 'retry.ts pauseBeforeRetry: no check of the time left',
    file: 'handler/retry.ts',
    edits: [{ find: '  if (options.deadline.remainingMs() <= delay) return false;\n', replace: '' }],
    tests: ['test/unit/retry.test.ts'],
    testName: 'gives up rather than sleep past the deadline',
  },
  {
    rule: '14: the one retry policy throws a non-retryable error at once',
    mutation: 'retry.ts retryCall: a fatal error is retried like throttling',
    file: 'handler/retry.ts',
    edits: [{ find: "      if (classifyFailure(error) === 'fatal') throw error;\n", replace: '' }],
    tests: ['test/unit/retry.test.ts'],
    testName: 'at once',
  },
  {
    rule: '15: the slave is the master itself only on the same endpoint',
    mutation: 'config.ts rejectMasterAsSlave: the endpoint is not compared',
    file: 'handler/config.ts',
    edits: [{ find: ' && (slave.endpoint ?? defaultEndpoint) === masterEndpoint) {', replace: ') {' }],
    tests: ['test/unit/config.test.ts', 'test/unit/replicator.test.ts', 'test/unit/cli/arguments.test.ts', 'test/unit/cli/options.test.ts', 'test/unit/lambda.configuration.test.ts'],
  },
  {
    rule: '15: a slave reached through a role (another account) is never the master itself',
    mutation: 'config.ts rejectMasterAsSlave: the role is not looked at',
    file: 'handler/config.ts',
    edits: [{ find: 'if (slave.roleArn === undefined && slave.region === master.region', replace: 'if (slave.region === master.region' }],
    tests: ['test/unit/config.test.ts', 'test/unit/replicator.test.ts', 'test/unit/cli/arguments.test.ts', 'test/unit/cli/options.test.ts', 'test/unit/lambda.configuration.test.ts'],
  },
  // The isolation issue.
  {
    rule: 'isolation: a parked slave gets no direct write',
    mutation: "fan-out.ts: a slave counts as parked only while its copy starts, not by its state's mode",
    file: 'handler/fan-out.ts',
    edits: [{ find: "const markedParked = state?.mode === 'parked' || startsCopy;", replace: 'const markedParked = startsCopy;' }],
    tests: ['test/unit/fan-out.test.ts', 'test/unit/replicator.test.ts'],
    testName: 'parked slave',
  },
  {
    rule: 'isolation: what lands in a bucket after the drain read it is never applied',
    mutation: 'drain.ts drainClosedBuckets: the closed range starts at bucket 0, not at drainedBelow',
    file: 'handler/drain.ts',
    edits: [{ find: '{ after: cursor ?? bucketPrefix(state.drainedBelow), below: state.bucket }', replace: '{ after: cursor ?? bucketPrefix(0), below: state.bucket }' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'never applies a change that landed in a bucket after the drain read it',
  },
  {
    rule: 'isolation: a change kept under an earlier epoch is never applied',
    mutation: 'drain.ts: the epoch of a parked change is not compared with the slave\'s',
    file: 'handler/drain.ts',
    edits: [
      { find: 'change.sortKey !== cursor && change.epoch >= state.epoch', replace: 'change.sortKey !== cursor' },
      { find: 'const current = found.filter((change) => change.epoch >= state.epoch);', replace: 'const current = found;' },
    ],
    tests: ['test/unit/drain.test.ts'],
    testName: 'parked under an older epoch',
  },
  {
    rule: 'isolation: a parked image keeps its binary exact',
    mutation: 'attribute-value.ts encodeImage: bytes written by JSON.stringify alone',
    file: 'handler/attribute-value.ts',
    edits: [{ find: 'return JSON.stringify(item, binaryAsBase64);', replace: 'return JSON.stringify(item);' }],
    tests: ['test/unit/attribute-value.test.ts'],
    testName: 'DynamoDB JSON text decodeImage reads back',
  },
  {
    rule: "isolation: the drain keeps at most twice the slave's write concurrency in flight",
    mutation: 'drain.ts: every partition writes at the whole write concurrency',
    file: 'handler/drain.ts',
    edits: [{ find: '{ concurrency: concurrencyPerPartition(config.writeConcurrency), deadline, ...context.retry }', replace: '{ concurrency: config.writeConcurrency, deadline, ...context.retry }' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'twice the write concurrency',
  },
  {
    rule: 'isolation: a drain goes on from the cursor of the one before',
    mutation: 'drain.ts drainClosedBuckets: the saved cursor is ignored',
    file: 'handler/drain.ts',
    edits: [{ find: 'const cursor = state.cursors.get(partition);', replace: 'const cursor: string | undefined = undefined;' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'goes on from its cursor',
  },
  {
    rule: "isolation: an announcement is refused once the bucket its parker read is closed (on DynamoDB Local)",
    mutation: 'state-store.ts markParked: a bucket closed since it was read still takes the announcement',
    file: 'handler/state-store.ts',
    edits: [{ find: "ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket = :bucket)',", replace: "ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket >= :bucket)'," }],
    project: 'integration',
    tests: ['test/integration/state-table.test.ts'],
    testName: 'refuses the announcement of a parker whose bucket was closed',
  },
  {
    rule: 'isolation: the drain closes a bucket only after the slave answered',
    mutation: 'drain.ts: the bucket is closed whatever the probe found',
    file: 'handler/drain.ts',
    edits: [{ find: 'if (!probe.answered || (probe.current > 0', replace: 'if ((probe.current > 0' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'keeps the open bucket when the slave fails',
  },
  {
    rule: 'isolation: a change whose item the slave rejects is carried over, not deleted',
    mutation: 'drain.ts drainClosedBuckets: no carry-over',
    file: 'handler/drain.ts',
    edits: [{ find: 'if (result.rejected.length > 0) await store.carryOver(slave.name, result.rejected, state.bucket, deadline);', replace: '' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'carries a change whose item the slave rejects',
  },
  {
    rule: 'isolation: the drain goes live only at the generation it read before its last round',
    mutation: 'drain.ts: the generation for markLive is read after the pass',
    file: 'handler/drain.ts',
    edits: [{ find: 'if (await store.markLive(slave.name, before.generation, owner, deadline))', replace: 'if (await store.markLive(slave.name, (await store.readSlaveState(slave.name, deadline)).generation, owner, deadline))' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'goes live only at the generation it read before its last round',
  },
  {
    rule: 'isolation: the drain goes live only at the generation it read (through the bundle, on DynamoDB Local)',
    mutation: 'state-store.ts markLive: any generation at least the one read will do',
    file: 'handler/state-store.ts',
    edits: [{ find: "ConditionExpression: 'generation = :generation AND lease_owner = :owner AND", replace: "ConditionExpression: 'generation >= :generation AND lease_owner = :owner AND" }],
    project: 'integration',
    tests: ['test/integration/isolation.test.ts'],
    testName: "does not switch back to live over a change parked during the drain's last round",
  },
  {
    rule: 'isolation: markLive is conditional on the generation',
    mutation: 'state-store.ts markLive: the generation is not in the condition',
    file: 'handler/state-store.ts',
    edits: [{ find: "ConditionExpression: 'generation = :generation AND lease_owner = :owner AND", replace: "ConditionExpression: 'lease_owner = :owner AND" }],
    tests: ['test/unit/state-store.test.ts', 'test/unit/drain.test.ts'],
  },
  // What the cheaper stream path of issue 13 must keep.
  {
    rule: "1: a call's abort signal still reaches its request with the middleware cached per command type",
    mutation: 'clients.ts: the request handler gets the SDK options only (the carried signal dropped)',
    file: 'handler/clients.ts',
    edits: [{ find: 'return handle(request, signal === undefined ? options : { ...options, abortSignal: signal });', replace: 'return handle(request, options);' }],
    tests: ['test/unit/clients.test.ts'],
    testName: 'resolves its middleware once per command type',
  },
  {
    rule: "isolation: a key's identity, which keys its parked change in the state table, never changes",
    mutation: 'attribute-value.ts keyIdentity: each name and its value separated by a colon',
    file: 'handler/attribute-value.ts',
    edits: [{ find: "text += `${text.length > 1 ? ',' : ''}${JSON.stringify(name)},${typed}`;", replace: "text += `${text.length > 1 ? ',' : ''}${JSON.stringify(name)}:${typed}`;" }],
    tests: ['test/unit/attribute-value.test.ts'],
    testName: 'is the JSON text of the sorted names',
  },
  // Reusing a read of the slaves' states (issue 13): safe only while parking waits longer than any reuse.
  {
    rule: 'isolation: no change is kept until the settle time after its slave was marked parked (through the bundle, on DynamoDB Local)',
    mutation: 'state-store.ts parkAndAnnounce: no settle wait',
    file: 'handler/state-store.ts',
    edits: [{ find: 'if ((options.markFirst || place.settled !== true) && !(await this.settle(deadline))) {', replace: 'if (false) {' }],
    project: 'integration',
    tests: ['test/integration/isolation.test.ts'],
    testName: 'parks the batch after one that parked, on an instance that read the slave live just before',
  },
  {
    rule: 'isolation: no change is kept until the settle time after its slave was marked parked',
    mutation: 'state-store.ts parkAndAnnounce: the slave marked parked by this parker counts as settled',
    file: 'handler/state-store.ts',
    edits: [{ find: 'if ((options.markFirst || place.settled !== true) && !(await this.settle(deadline))) {', replace: 'if (place.settled !== true && !options.markFirst && !(await this.settle(deadline))) {' }],
    tests: ['test/unit/state-store.test.ts'],
    testName: 'keeps no change until PARK_SETTLE_MS',
  },
  {
    rule: 'isolation: a parker waits for a slave read parked but not settled',
    mutation: 'fan-out.ts park: every parked slave read counts as settled',
    file: 'handler/fan-out.ts',
    edits: [{ find: 'settled: state?.settled ?? false };', replace: "settled: state?.mode === 'parked' };" }],
    tests: ['test/unit/fan-out.test.ts'],
    testName: 'waits the settle time for one read parked but not settled',
  },
  {
    rule: 'isolation: a read of the states is reused only when every slave is written directly in it',
    mutation: 'live-states.ts read: every read is kept for reuse',
    file: 'handler/live-states.ts',
    edits: [{ find: 'if (this.reuseMs > 0 && slaves.every((slave) => takesWritesDirectly(slave, states.get(slave.name)))) this.#kept', replace: 'if (this.reuseMs > 0) this.#kept' }],
    tests: ['test/unit/live-states.test.ts', 'test/unit/replicator.test.ts'],
  },
  {
    rule: 'isolation: a read of the states is too old once either clock says so',
    mutation: 'live-states.ts reusable: the monotonic clock alone (an instance frozen between invocations reuses it)',
    file: 'handler/live-states.ts',
    edits: [{ find: 'if (wallElapsed >= 0 && Math.max(wallElapsed, performance.now() - kept.monotonicAt) < this.reuseMs)', replace: 'if (performance.now() - kept.monotonicAt < this.reuseMs)' }],
    tests: ['test/unit/live-states.test.ts'],
  },
  {
    rule: 'isolation: the batch after one in which a slave did not take its writes reads the states again',
    mutation: 'replicator.ts: the kept read is never forgotten',
    file: 'handler/replicator.ts',
    edits: [{ find: 'this.liveStates.forget();', replace: 'void this.liveStates;' }],
    tests: ['test/unit/replicator.test.ts'],
    testName: 'reads the states again for the batch after one in which a slave did not take its writes',
  },
  {
    rule: 'isolation: the drain leaves a slave parked moments ago and not settled parked',
    mutation: 'drain.ts: goes live over an unsettled slave at once',
    file: 'handler/drain.ts',
    edits: [{ find: 'if (!before.settled && now() - (before.parkedSince ?? 0) < UNSETTLED_GRACE_MS) break;', replace: '' }],
    tests: ['test/unit/drain.test.ts'],
    testName: 'leaves a slave marked parked less than UNSETTLED_GRACE_MS',
  },
];

// Failures that say the mutated code did not load or run as code, not that a rule's check caught it.
const NOT_AN_ASSERTION = /^(SyntaxError|ReferenceError|Error: (Transform failed|Failed to load|Cannot find module))/;

function parseArguments(argv) {
  const options = { only: undefined, keep: false, list: false, integration: false };
  for (let i = 0; i < argv.length; i += 1) {
    const argument = argv[i];
    if (argument === '--only') options.only = argv[(i += 1)];
    else if (argument === '--keep') options.keep = true;
    else if (argument === '--list') options.list = true;
    else if (argument === '--integration') options.integration = true;
    else if (argument === '--help' || argument === '-h') {
      console.log('usage: npm run break-rules -- [--only <words>] [--keep] [--list] [--integration]');
      process.exit(0);
    } else {
      console.error(`break-rules: unknown argument ${argument}`);
      process.exit(2);
    }
  }
  return options;
}

/** The working tree's files: tracked and untracked, not ignored, that exist now. */
function workingTreeFiles() {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  return [...new Set(listed.stdout.split('\0').filter((path) => path !== ''))].filter((path) => {
    const full = join(ROOT, path);
    return existsSync(full) && lstatSync(full).isFile();
  });
}

function copyTree(files) {
  const copy = mkdtempSync(join(tmpdir(), 'break-rules-'));
  for (const path of files) {
    mkdirSync(dirname(join(copy, path)), { recursive: true });
    copyFileSync(join(ROOT, path), join(copy, path));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  return copy;
}

function occurrences(text, find) {
  let count = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + 1)) count += 1;
  return count;
}

/** Problems that make the list out of step with the code: a file gone, a string not found once, a test file gone. */
function checkList(mutations, copy) {
  const problems = [];
  for (const m of mutations) {
    const path = join(copy, m.file);
    if (!existsSync(path)) {
      problems.push(`${m.rule}: ${m.file} does not exist`);
      continue;
    }
    const text = readFileSync(path, 'utf8');
    for (const { find } of m.edits) {
      const count = occurrences(text, find);
      if (count !== 1) problems.push(`${m.rule}: ${m.file} has ${count} occurrences of ${JSON.stringify(find)} (expected exactly 1)`);
    }
    for (const test of m.tests) if (!existsSync(join(copy, test))) problems.push(`${m.rule}: test file ${test} does not exist`);
  }
  return problems;
}

function applyEdits(text, edits) {
  let result = text;
  for (const { find, replace } of edits) result = result.replace(find, () => replace);
  return result;
}

/** TypeScript's syntax errors in a mutated file (types are not checked: vitest does not check them either). */
function syntaxErrors(file, text) {
  const { diagnostics = [] } = ts.transpileModule(text, { fileName: file, reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return diagnostics.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

/** The Lambda bundle the integration tests load (`dist/lambda/index.mjs`), from the copy's sources, as build.mjs makes it. */
async function buildBundle(copy) {
  await build({
    absWorkingDir: copy,
    entryPoints: ['handler/lambda.ts'],
    outfile: 'dist/lambda/index.mjs',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    keepNames: true,
    mainFields: ['module', 'main'],
    logLevel: 'error',
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()[\]\\]/g, '\\$&');

/** Runs test files in the copy, one file at a time; resolves with the exit code and the failing tests. */
function runVitest(copy, { project = 'unit', tests, testName }, outputFile) {
  rmSync(outputFile, { force: true });
  // `testName` may hold `|` for alternatives; anything else in it is literal.
  const pattern = testName === undefined ? [] : ['-t', testName.split('|').map(escapeRegExp).join('|')];
  const args = ['run', '--project', project, '--no-file-parallelism', '--reporter=json', `--outputFile=${outputFile}`, ...pattern, ...tests];
  const started = Date.now();
  const run = spawnSync(join(copy, 'node_modules', '.bin', 'vitest'), args, {
    cwd: copy,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', CI: '1' },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 600_000,
  });
  const seconds = (Date.now() - started) / 1000;
  const result = { code: run.status ?? 1, seconds, failed: [], loadErrors: [], ran: 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
  if (!existsSync(outputFile)) {
    result.loadErrors.push(`vitest wrote no report (exit ${run.status}, signal ${run.signal ?? 'none'})`);
    return result;
  }
  const report = JSON.parse(readFileSync(outputFile, 'utf8'));
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).every((test) => test.status !== 'failed')) {
      result.loadErrors.push(`${file.name.replace(`${copy}/`, '')}: ${firstLine(file.message ?? 'failed without a failing test')}`);
    }
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'passed' || test.status === 'failed') result.ran += 1;
      if (test.status === 'failed') result.failed.push({ file: file.name.replace(`${copy}/`, ''), name: test.fullName ?? test.title, message: firstLine(test.failureMessages?.[0] ?? '') });
    }
  }
  return result;
}

function firstLine(text) {
  // eslint-disable-next-line no-control-regex -- the matchers colour their messages whatever FORCE_COLOR says
  const line = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((part) => part.trim() !== '') ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

const cell = (text) => String(text).replace(/\|/g, '\\|');

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const selected = MUTATIONS.filter(
    (m) => (options.integration || (m.project ?? 'unit') === 'unit') && (options.only === undefined || `${m.rule} ${m.mutation}`.toLowerCase().includes(options.only.toLowerCase())),
  );
  if (options.list) {
    for (const [index, m] of selected.entries()) console.log(`${index + 1}. ${m.rule}\n   ${m.mutation}\n   ${m.project ?? 'unit'}: ${m.tests.join(' ')}${m.testName === undefined ? '' : ` -t "${m.testName}"`}`);
    return 0;
  }
  if (selected.length === 0) {
    console.error(`break-rules: no mutation matches ${JSON.stringify(options.only)}`);
    return 2;
  }

  const copy = copyTree(workingTreeFiles());
  console.log(`break-rules: working tree copied to ${copy}`);
  try {
    const problems = checkList(selected, copy);
    if (problems.length > 0) {
      console.error('break-rules: the mutation list is out of step with the code:');
      for (const problem of problems) console.error(`  - ${problem}`);
      return 1;
    }

    // The unmutated files first: every test the mutations use must pass, so that a failure below is the mutation's.
    // Where every mutation of a project names its tests, only those run (the integration files take minutes whole).
    const byProject = new Map();
    for (const m of selected) {
      const project = m.project ?? 'unit';
      const entry = byProject.get(project) ?? { tests: new Set(), names: new Set(), all: false };
      for (const test of m.tests) entry.tests.add(test);
      if (m.testName === undefined) entry.all = true;
      else for (const name of m.testName.split('|')) entry.names.add(name);
      byProject.set(project, entry);
    }
    for (const [project, { tests, names, all }] of byProject) {
      if (project === 'integration') await buildBundle(copy);
      process.stdout.write(`break-rules: unmutated ${project} run of ${tests.size} test files... `);
      const testName = all ? undefined : [...names].join('|');
      const baseline = runVitest(copy, { project, tests: [...tests], ...(testName === undefined ? {} : { testName }) }, join(copy, `.break-rules-baseline-${project}.json`));
      console.log(`${baseline.ran} tests, ${baseline.failed.length} failed, ${baseline.seconds.toFixed(1)} s`);
      if (baseline.code !== 0 || baseline.failed.length > 0 || baseline.loadErrors.length > 0) {
        console.error('break-rules: the unmutated tests do not pass; fix that first:');
        for (const test of baseline.failed) console.error(`  - ${test.file} > ${test.name}: ${test.message}`);
        for (const error of baseline.loadErrors) console.error(`  - ${error}`);
        if (baseline.failed.length === 0 && baseline.loadErrors.length === 0) console.error(baseline.output.slice(-4000));
        return 1;
      }
    }

    const rows = [];
    for (const [index, m] of selected.entries()) {
      const path = join(copy, m.file);
      const original = readFileSync(path, 'utf8');
      const mutated = applyEdits(original, m.edits);
      process.stdout.write(`break-rules: [${index + 1}/${selected.length}] ${m.mutation}... `);
      const errors = syntaxErrors(m.file, mutated);
      let row;
      if (errors.length > 0) {
        row = { m, verdict: 'INVALID', detail: `the mutated file does not parse: ${errors[0]}`, seconds: 0 };
      } else {
        writeFileSync(path, mutated);
        try {
          if (m.project === 'integration') await buildBundle(copy);
          const result = runVitest(copy, m, join(copy, `.break-rules-${index + 1}.json`));
          const assertions = result.failed.filter((test) => !NOT_AN_ASSERTION.test(test.message));
          if (assertions.length > 0) {
            const [first] = assertions;
            const files = [...new Set(assertions.map((test) => test.file))];
            const more = assertions.length > 1 ? ` (+${assertions.length - 1} more${files.length > 1 ? `, also in ${files.filter((file) => file !== first.file).join(', ')}` : ''})` : '';
            row = { m, verdict: 'killed', detail: `${first.file} > ${first.name}${more}`, message: first.message, seconds: result.seconds };
          } else if (result.failed.length > 0 || result.loadErrors.length > 0) {
            row = { m, verdict: 'INVALID', detail: `failed without an assertion: ${result.failed[0]?.message ?? result.loadErrors[0]}`, seconds: result.seconds };
          } else if (result.ran === 0) {
            row = { m, verdict: 'INVALID', detail: `no test ran (does -t "${m.testName ?? ''}" still match a test name?)`, seconds: result.seconds };
          } else if (result.code !== 0) {
            row = { m, verdict: 'INVALID', detail: `vitest exited ${result.code} with no failing test: ${firstLine(result.output.slice(-2000))}`, seconds: result.seconds };
          } else {
            row = { m, verdict: 'SURVIVED', detail: `${result.ran} test(s) ran and passed with the rule broken`, seconds: result.seconds };
          }
        } finally {
          writeFileSync(path, original);
          if (m.project === 'integration') await buildBundle(copy);
        }
      }
      console.log(`${row.verdict} (${row.seconds.toFixed(1)} s)${row.message === undefined ? '' : `: ${row.message}`}`);
      rows.push(row);
    }

    console.log('');
    console.log('| # | Rule (issue 11 point) | Mutation | Result | Test that failed |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const [index, row] of rows.entries()) console.log(`| ${index + 1} | ${cell(row.m.rule)} | ${cell(row.m.mutation)} | ${row.verdict} | ${cell(row.detail)} |`);
    const bad = rows.filter((row) => row.verdict !== 'killed');
    console.log('');
    console.log(`break-rules: ${rows.length - bad.length} of ${rows.length} mutations killed${bad.length === 0 ? '' : `; ${bad.length} not: ${bad.map((row) => `${row.verdict.toLowerCase()} "${row.m.mutation}"`).join('; ')}`}`);
    return bad.length === 0 ? 0 : 1;
  } finally {
    if (options.keep) console.log(`break-rules: the copy is kept at ${copy}`);
    else rmSync(copy, { recursive: true, force: true });
  }
}

process.exitCode = await main();
