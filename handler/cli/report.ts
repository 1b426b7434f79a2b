import type { BackfillSummary } from './backfill';
import { STREAM_RETENTION_MS } from './backfill';
import { formatDuration } from './progress';
import type { VerifySummary } from './verify';

/** The end of a backfill for a person: what was copied, what failed, and what to do next. */
export function formatBackfillSummary(summary: BackfillSummary, now: number = Date.now()): string {
  const lines: string[] = [];
  const segments = `${summary.segments.length} of ${summary.totalSegments} segments`;
  lines.push(
    `backfill of ${summary.table} into ${summary.slaves.join(', ')}: ${summary.itemsCopied.toLocaleString('en-US')} items copied in ${formatDuration(summary.durationMs)} (${summary.itemsPerSecond.toLocaleString('en-US')} items/s); ${summary.itemsCopiedInAll.toLocaleString('en-US')} in all with earlier runs`,
  );
  lines.push(
    `  ${segments}: ${summary.segmentsDone} finished now, ${summary.segmentsAlreadyDone} finished earlier, ${summary.segmentsResumed} resumed from a checkpoint in ${summary.checkpointDir}`,
  );
  const retries = Object.entries(summary.retries).map(([slave, count]) => `${slave} ${count}`);
  lines.push(`  writes retried after throttling: ${retries.join(', ')}`);
  if (summary.rateLimit.itemsPerSecond !== null) lines.push(`  rate limit: ${summary.rateLimit.itemsPerSecond} items/s`);
  if (summary.rateLimit.readUnitsPerSecond !== null) lines.push(`  rate limit: ${summary.rateLimit.readUnitsPerSecond} read capacity units/s of the master`);
  if (summary.failedWrites > 0) {
    lines.push(`FAILED: ${summary.failedWrites} writes could not be applied after retries; the run stopped. First failures:`);
    for (const failure of summary.failures) lines.push(`  slave "${failure.slave}", key ${failure.key}: ${failure.error}`);
    lines.push('Fix the cause and run the same command again: it resumes from the checkpoints.');
  } else if (summary.interrupted) {
    lines.push('Interrupted: every segment stopped after a page it had finished. Run the same command again to resume.');
  } else if (summary.stateTable !== null) {
    lines.push(
      summary.markedCopied.length > 0
        ? `Done. Marked copied in state table ${summary.stateTable}: ${summary.markedCopied.join(', ')}. The drain now applies the changes parked since the copy began and puts each slave live; npx dynamo-replicator status shows when.`
        : `Done with these segments. The slaves are marked copied once every segment of the copy is done (other machines' too); npx dynamo-replicator status shows the copy's progress.`,
    );
  } else {
    const deadline = Date.parse(summary.copyStartedAt) + STREAM_RETENTION_MS;
    const left = deadline - now;
    lines.push(
      left > 0
        ? `Done. Once every machine's segments are done, start replication from TRIM_HORIZON before ${new Date(deadline).toISOString()} (${formatDuration(left)} from now, 24 hours after the copy started), less the time replication needs to replay what was written since, and sooner if the mapping's maximum_record_age_in_seconds is below 24 hours: the stream must still hold every change made since the copy started. Adding a slave to a replicator that is running needs no such window: mark it initial_copy and pass --state-table.`
        : `Done, but the copy started more than 24 hours ago (${summary.copyStartedAt}): the stream no longer holds every change made since. Start replication, let it catch up, then run verify --repair.`,
    );
  }
  return lines.join('\n');
}

/** The result of a verify for a person. */
export function formatVerifySummary(summary: VerifySummary): string {
  const lines: string[] = [];
  lines.push(`verify of ${summary.table} in ${summary.region}: ${summary.masterItems.toLocaleString('en-US')} items on the master, ${formatDuration(summary.durationMs)}`);
  if (summary.interrupted) lines.push('Interrupted before the comparison finished: nothing is proven.');
  for (const slave of summary.slaves) {
    const state = slave.equal ? 'EQUAL' : 'DIFFERENT';
    lines.push(
      `  ${state}  slave "${slave.name}" (${slave.table} in ${slave.region}): ${slave.items.toLocaleString('en-US')} items; missing ${slave.missing}, extra ${slave.extra}, different ${slave.different}; ${slave.settled} in-flight differences settled on re-read${slave.unreadable > 0 ? `; ${slave.unreadable} keys could not be re-read` : ''}`,
    );
    if (summary.repair && slave.missing + slave.extra + slave.different > 0) lines.push(`    repaired ${slave.repaired}, not repaired ${slave.unrepaired}`);
    for (const kind of ['missing', 'extra', 'different'] as const) {
      const keys = slave.samples[kind];
      if (keys.length > 0) lines.push(`    ${kind}: ${keys.map((sample) => sample.text).join(', ')}${slave[kind] > keys.length ? ', ...' : ''}`);
    }
    for (const error of slave.errors) lines.push(`    error: ${error}`);
  }
  lines.push(summary.equal ? 'Every slave equals the master.' : 'Not every slave equals the master.');
  return lines.join('\n');
}
