import { describe, expect, it } from 'vitest';
import type { BackfillSummary } from '../../../handler/cli/backfill';
import { formatBackfillSummary, formatVerifySummary } from '../../../handler/cli/report';
import type { SlaveVerdict, VerifySummary } from '../../../handler/cli/verify';

const NOW = Date.parse('2026-11-24T12:00:00.000Z');

const backfill = (overrides: Partial<BackfillSummary> = {}): BackfillSummary => ({
  table: 'orders',
  slaves: ['eu', 'us'],
  totalSegments: 8,
  segments: [0, 1, 2, 3],
  itemsCopied: 12_345,
  itemsCopiedInAll: 20_000,
  pages: 13,
  segmentsDone: 3,
  segmentsResumed: 1,
  segmentsAlreadyDone: 1,
  retries: { eu: 2, us: 0 },
  failedWrites: 0,
  failures: [],
  interrupted: false,
  durationMs: 65_000,
  itemsPerSecond: 190,
  rateLimit: { itemsPerSecond: null, readUnitsPerSecond: null },
  copyStartedAt: '2026-11-24T10:00:00.000Z',
  checkpointDir: 'checkpoints',
  stateTable: null,
  markedCopied: [],
  ...overrides,
});

const HEAD = [
  'backfill of orders into eu, us: 12,345 items copied in 1m05s (190 items/s); 20,000 in all with earlier runs',
  '  4 of 8 segments: 3 finished now, 1 finished earlier, 1 resumed from a checkpoint in checkpoints',
  '  writes retried after throttling: eu 2, us 0',
];

describe('Function: formatBackfillSummary', () => {
  it('with a state table and slaves marked copied, says the drain now hands them over', () => {
    // Act
    const lines = formatBackfillSummary(backfill({ stateTable: 'orders-state', markedCopied: ['eu', 'us'] }), NOW).split('\n');

    // Assess
    expect(lines).toEqual([
      ...HEAD,
      'Done. Marked copied in state table orders-state: eu, us. The drain now applies the changes parked since the copy began and puts each slave live; npx dynamo-replicator status shows when.',
    ]);
  });

  it('with a state table and no slave marked copied yet, says they are marked once every segment is done', () => {
    // Act
    const lines = formatBackfillSummary(backfill({ stateTable: 'orders-state' }), NOW).split('\n');

    // Assess
    expect(lines.at(-1)).toBe(
      "Done with these segments. The slaves are marked copied once every segment of the copy is done (other machines' too); npx dynamo-replicator status shows the copy's progress.",
    );
  });

  it('without a state table, gives the window to start replication in, with the record-age caveat', () => {
    // Act: the copy started 2 hours ago.
    const lines = formatBackfillSummary(backfill({ rateLimit: { itemsPerSecond: 500, readUnitsPerSecond: 25 } }), NOW).split('\n');

    // Assess
    expect(lines).toEqual([
      ...HEAD,
      '  rate limit: 500 items/s',
      '  rate limit: 25 read capacity units/s of the master',
      "Done. Once every machine's segments are done, start replication from TRIM_HORIZON before 2026-11-25T10:00:00.000Z (22h00m from now, 24 hours after the copy started), less the time replication needs to replay what was written since, and sooner if the mapping's maximum_record_age_in_seconds is below 24 hours: the stream must still hold every change made since the copy started. Adding a slave to a replicator that is running needs no such window: mark it initial_copy and pass --state-table.",
    ]);
  });

  it('without a state table, says to verify --repair once the copy is older than the stream keeps changes', () => {
    // Act
    const lines = formatBackfillSummary(backfill({ copyStartedAt: '2026-11-23T11:59:59.000Z' }), NOW).split('\n');

    // Assess
    expect(lines.at(-1)).toBe(
      'Done, but the copy started more than 24 hours ago (2026-11-23T11:59:59.000Z): the stream no longer holds every change made since. Start replication, let it catch up, then run verify --repair.',
    );
  });

  it('lists the first failures and says a rerun resumes, even with a state table', () => {
    // Act
    const lines = formatBackfillSummary(
      backfill({ stateTable: 'orders-state', failedWrites: 7, failures: [{ slave: 'us', key: '{pk: "a"}', error: 'AccessDeniedException: no' }], interrupted: true }),
      NOW,
    ).split('\n');

    // Assess
    expect(lines.slice(HEAD.length)).toEqual([
      'FAILED: 7 writes could not be applied after retries; the run stopped. First failures:',
      '  slave "us", key {pk: "a"}: AccessDeniedException: no',
      'Fix the cause and run the same command again: it resumes from the checkpoints.',
    ]);
  });

  it('says an interrupted run resumes, and claims nothing is done', () => {
    // Act
    const lines = formatBackfillSummary(backfill({ stateTable: 'orders-state', markedCopied: ['eu'], interrupted: true }), NOW).split('\n');

    // Assess
    expect(lines.slice(HEAD.length)).toEqual(['Interrupted: every segment stopped after a page it had finished. Run the same command again to resume.']);
  });
});

const verdict = (overrides: Partial<SlaveVerdict> = {}): SlaveVerdict => ({
  name: 'eu',
  table: 'orders-eu',
  region: 'eu-west-1',
  items: 1_000,
  missing: 0,
  extra: 0,
  different: 0,
  settled: 2,
  unreadable: 0,
  repaired: 0,
  unrepaired: 0,
  samples: { missing: [], extra: [], different: [] },
  errors: [],
  equal: true,
  ...overrides,
});

const verify = (overrides: Partial<VerifySummary> = {}): VerifySummary => ({
  table: 'orders',
  region: 'eu-west-1',
  masterItems: 1_000,
  slaves: [verdict()],
  equal: true,
  repair: false,
  partitions: 1,
  interrupted: false,
  durationMs: 3_000,
  sample: null,
  estimatedReadUnits: 10,
  ...overrides,
});

describe('Function: formatVerifySummary', () => {
  it('shows each slave equal or different with its counts, repairs, samples and errors', () => {
    // Prepare
    const different = verdict({
      name: 'us',
      table: 'orders-us',
      region: 'us-east-1',
      missing: 3,
      different: 1,
      unreadable: 1,
      repaired: 3,
      unrepaired: 1,
      samples: { missing: [{ key: { pk: { S: 'a' } }, text: '{pk: "a"}' }], extra: [], different: [{ key: { pk: { S: 'b' } }, text: '{pk: "b"}' }] },
      errors: ['still different after the repair'],
      equal: false,
    });

    // Act
    const lines = formatVerifySummary(verify({ slaves: [verdict(), different], equal: false, repair: true })).split('\n');

    // Assess
    expect(lines).toEqual([
      'verify of orders in eu-west-1: 1,000 items on the master, 3s',
      '  EQUAL  slave "eu" (orders-eu in eu-west-1): 1,000 items; missing 0, extra 0, different 0; 2 in-flight differences settled on re-read',
      '  DIFFERENT  slave "us" (orders-us in us-east-1): 1,000 items; missing 3, extra 0, different 1; 2 in-flight differences settled on re-read; 1 keys could not be re-read',
      '    repaired 3, not repaired 1',
      '    missing: {pk: "a"}, ...',
      '    different: {pk: "b"}',
      '    error: still different after the repair',
      'Not every slave equals the master.',
    ]);
  });

  it('says an interrupted verify proves nothing', () => {
    // Act
    const lines = formatVerifySummary(verify({ slaves: [], interrupted: true, equal: false })).split('\n');

    // Assess
    expect(lines).toEqual(['verify of orders in eu-west-1: 1,000 items on the master, 3s', 'Interrupted before the comparison finished: nothing is proven.', 'Not every slave equals the master.']);
  });
});
