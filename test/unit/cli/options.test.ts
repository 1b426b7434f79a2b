import { describe, expect, it } from 'vitest';
import { parseBackfillOptions, parseMarkCopiedOptions, parseRedriveOptions, parseStateOptions, parseVerifyOptions, type RawFlags } from '../../../handler/cli/options';
import { ConfigurationError } from '../../../handler/errors';

const SLAVES = '{"eu":{"region":"eu-west-1","table_name":"orders-eu","initial_copy":true}}';
const BASE: RawFlags = { table: 'orders', region: 'eu-west-1', slaves: SLAVES };
const ENV: NodeJS.ProcessEnv = {};

/** The ConfigurationError a parse throws, or undefined. */
function errorOf(parse: () => unknown): ConfigurationError | undefined {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  return undefined;
}

describe('Function: parseVerifyOptions', () => {
  it('reads --state-table, --recheck-window, --ignore-attribute, --sample and --repair', () => {
    // Act
    const options = parseVerifyOptions({ ...BASE, stateTable: 'orders-state', recheckWindow: '60', ignoreAttribute: 'updated_at, etag,,', sample: '0.01' }, ENV);

    // Assess
    expect(options).toMatchObject({ stateTable: 'orders-state', recheckWindowMs: 60_000, ignoreAttributes: ['updated_at', 'etag'], sample: 0.01, repair: false });
  });

  it('defaults to a 300 s re-check window, no ignored attribute, no sample, and the state table of REPLICATOR_STATE_TABLE', () => {
    // Act
    const options = parseVerifyOptions({ ...BASE, repair: true }, { REPLICATOR_STATE_TABLE: 'from-env-state' });

    // Assess
    expect(options).toMatchObject({ stateTable: 'from-env-state', recheckWindowMs: 300_000, recheckDelayMs: 1_000, recheckAttempts: 10, ignoreAttributes: [], sample: undefined, repair: true });
  });

  it.each([
    ['--repair without a state table', { repair: true }, '--repair', /needs the replicator's state table \(--state-table or REPLICATOR_STATE_TABLE\)/],
    ['a --sample above 1', { sample: '2' }, '--sample', /is a fraction of the master's items from 0 to 1 \(e\.g\. 0\.01\), not 2/],
    ['a --sample of 0', { sample: '0' }, '--sample', /must be a number above 0, not "0"/],
    ['--sample with --repair', { sample: '0.5', repair: true, stateTable: 'orders-state' }, '--sample', /and --repair cannot be combined/],
    ['a --recheck-window that is not a whole number', { recheckWindow: '1.5' }, '--recheck-window', /must be a whole number from 0 to 86400, not "1\.5"/],
    ['an empty --ignore-attribute', { ignoreAttribute: ' ' }, '--ignore-attribute', /is empty: give it a value or leave it out/],
    ['a --state-table that is no table name', { stateTable: 'a b' }, '--state-table', /"a b" is not a DynamoDB table name: 3 to 255 letters/],
  ])('refuses %s, naming the flag', (_, flags: RawFlags, field, message) => {
    // Act
    const error = errorOf(() => parseVerifyOptions({ ...BASE, ...flags }, ENV));

    // Assess
    expect(error?.field).toBe(field);
    expect(error?.message).toMatch(message);
  });
});

describe('Function: parseBackfillOptions', () => {
  it('reads --state-table and --settle-seconds, by default 900 s', () => {
    // Act
    const given = parseBackfillOptions({ ...BASE, stateTable: 'orders-state', settleSeconds: '0' }, ENV);
    const defaulted = parseBackfillOptions(BASE, ENV);

    // Assess
    expect(given).toMatchObject({ stateTable: 'orders-state', settleMs: 0 });
    expect(defaulted).toMatchObject({ stateTable: undefined, settleMs: 900_000 });
  });

  it('refuses a --settle-seconds above a day, naming the flag', () => {
    // Act
    const error = errorOf(() => parseBackfillOptions({ ...BASE, settleSeconds: '86401' }, ENV));

    // Assess
    expect(error?.message).toBe('--settle-seconds: must be a whole number from 0 to 86400, not "86401"');
  });

  it("accepts a slave of the master's table and region on another endpoint: it is not the master itself", () => {
    // Prepare
    const slaves = '{"local":{"region":"eu-west-1","table_name":"orders","endpoint":"http://127.0.0.1:8000"}}';

    // Act
    const options = parseBackfillOptions({ ...BASE, slaves }, ENV);
    const refused = errorOf(() => parseBackfillOptions({ ...BASE, slaves: '{"loop":{"region":"eu-west-1","table_name":"orders"}}' }, ENV));

    // Assess
    expect(options.slaves).toEqual([{ name: 'local', region: 'eu-west-1', tableName: 'orders', endpoint: 'http://127.0.0.1:8000' }]);
    expect(refused?.message).toMatch(/^slave "loop": is the master table itself \(orders in eu-west-1\)/);
  });

  it("accepts a slave of the master's table and region reached through a role: another account's table is not the master itself", () => {
    // Prepare
    const slaves = '{"partner":{"region":"eu-west-1","table_name":"orders","role_arn":"arn:aws:iam::210987654321:role/replica-writer"}}';

    // Act
    const options = parseBackfillOptions({ ...BASE, slaves }, ENV);

    // Assess
    expect(options.slaves).toEqual([{ name: 'partner', region: 'eu-west-1', tableName: 'orders', roleArn: 'arn:aws:iam::210987654321:role/replica-writer' }]);
  });
});

describe('Function: parseStateOptions', () => {
  it('reads the state table from --state-table or REPLICATOR_STATE_TABLE, and --write-concurrency and --json', () => {
    // Act
    const fromFlag = parseStateOptions({ ...BASE, stateTable: 'orders-state', writeConcurrency: '3', json: true }, ENV);
    const fromEnv = parseStateOptions(BASE, { REPLICATOR_STATE_TABLE: 'env-state' });

    // Assess
    expect(fromFlag).toEqual({ master: { tableName: 'orders', region: 'eu-west-1' }, slaves: [{ name: 'eu', region: 'eu-west-1', tableName: 'orders-eu', initialCopy: true }], stateTable: 'orders-state', writeConcurrency: 3, json: true });
    expect(fromEnv).toMatchObject({ stateTable: 'env-state', writeConcurrency: 16, json: false });
  });

  it.each([
    ['no state table', {}, /^--state-table: is required \(or set REPLICATOR_STATE_TABLE\)/],
    ['a --write-concurrency of 0', { stateTable: 'orders-state', writeConcurrency: '0' }, /^--write-concurrency: must be a whole number from 1 to 256, not "0"$/],
  ])('refuses %s, naming the flag', (_, flags: RawFlags, message) => {
    // Act & Assess
    expect(errorOf(() => parseStateOptions({ ...BASE, ...flags }, ENV))?.message).toMatch(message);
  });
});

describe('Function: parseMarkCopiedOptions', () => {
  it('reads --copied-at as a point in time and --settle-seconds', () => {
    // Act
    const options = parseMarkCopiedOptions({ ...BASE, stateTable: 'orders-state', copiedAt: '2026-12-01T10:00:00Z', settleSeconds: '60' }, ENV);

    // Assess
    expect(options).toMatchObject({ copiedAt: Date.parse('2026-12-01T10:00:00Z'), settleMs: 60_000, stateTable: 'orders-state' });
  });

  it.each([
    ['a --copied-at that is no time', { copiedAt: 'yesterday' }, '--copied-at: "yesterday" is not a time: write one like 2026-12-01T10:00:00Z (the export\'s point in time)'],
    ['no --copied-at', {}, '--copied-at: "" is not a time: write one like 2026-12-01T10:00:00Z (the export\'s point in time)'],
    ['a negative --settle-seconds', { copiedAt: '2026-12-01T10:00:00Z', settleSeconds: '-1' }, '--settle-seconds: must be a whole number from 0 to 86400, not "-1"'],
  ])('refuses %s, naming the flag', (_, flags: RawFlags, message) => {
    // Act & Assess
    expect(errorOf(() => parseMarkCopiedOptions({ ...BASE, stateTable: 'orders-state', ...flags }, ENV))?.message).toBe(message);
  });
});

describe('Function: parseRedriveOptions', () => {
  it('reads --from, --rejected and --delete-replayed', () => {
    // Act
    const options = parseRedriveOptions({ ...BASE, stateTable: 'orders-state', from: 's3://bucket/prefix/', rejected: true, deleteReplayed: true }, ENV);

    // Assess
    expect(options).toMatchObject({ from: 's3://bucket/prefix/', rejected: true, deleteReplayed: true, stateTable: 'orders-state' });
  });

  it('replays only the rejected records with --rejected alone, deleting no source', () => {
    // Act
    const options = parseRedriveOptions({ ...BASE, stateTable: 'orders-state', rejected: true }, ENV);

    // Assess
    expect(options).toMatchObject({ from: undefined, rejected: true, deleteReplayed: false });
  });

  it('refuses a redrive with neither --from nor --rejected, naming --from', () => {
    // Act
    const error = errorOf(() => parseRedriveOptions({ ...BASE, stateTable: 'orders-state' }, ENV));

    // Assess
    expect(error?.field).toBe('--from');
    expect(error?.message).toMatch(/^--from: or --rejected is required: replay invocation records/);
  });
});
