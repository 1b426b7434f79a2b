import type { StreamChange } from './types';

/**
 * Keeps the last change of each item, in stream order.
 *
 * Stream records of one item are in order, and every kept change carries the item's whole state (a new image, a
 * delete, or a read of the master's current item), so applying only the last one leaves the slave where applying all
 * of them would, and no two writes of one item are ever in flight together.
 */
export function compactChanges(changes: readonly StreamChange[]): StreamChange[] {
  const latest = new Map<string, StreamChange>();
  for (const change of changes) {
    latest.delete(change.keyId);
    latest.set(change.keyId, change);
  }
  return [...latest.values()];
}

/**
 * The lowest of some sequence numbers of one shard. They are decimal strings of up to 40 digits, beyond a JS number,
 * so they are compared as big integers.
 */
export function lowestSequenceNumber(sequenceNumbers: Iterable<string>): string | undefined {
  let lowest: string | undefined;
  let lowestValue = 0n;
  for (const sequenceNumber of sequenceNumbers) {
    const value = BigInt(sequenceNumber);
    if (lowest === undefined || value < lowestValue) {
      lowest = sequenceNumber;
      lowestValue = value;
    }
  }
  return lowest;
}
