import { describe, expect, it } from 'vitest';
import { compactChanges, lowestSequenceNumber } from '../../handler/compaction';
import { parseStreamBatch } from '../../handler/stream-record';
import { put, remove, streamEvent } from './helpers/records';

describe('Function: compactChanges', () => {
  it('keeps only the last change of each item, so the slave ends in the latest state', () => {
    // Prepare
    const { changes } = parseStreamBatch(streamEvent(put('a', '1'), put('b', '1'), put('a', '2'), remove('b'), put('c', '1'), put('a', '3')));

    // Act
    const latest = compactChanges(changes);

    // Assess
    expect(latest.map((change) => [change.key.pk?.S, change.change.kind === 'put' ? change.change.item.value?.S : 'deleted'])).toEqual([
      ['b', 'deleted'],
      ['c', '1'],
      ['a', '3'],
    ]);
    expect(latest.at(-1)?.sequenceNumber).toBe(changes.at(-1)?.sequenceNumber);
  });
});

describe('Function: lowestSequenceNumber', () => {
  it('compares sequence numbers as integers, not as text or floating point', () => {
    expect(lowestSequenceNumber(['900', '1000'])).toBe('900');
    expect(lowestSequenceNumber(['49999999999999999999999999999999999999991', '49999999999999999999999999999999999999990'])).toBe('49999999999999999999999999999999999999990');
    expect(lowestSequenceNumber([])).toBeUndefined();
  });
});
