import { Deadline } from '../../../handler/timing';

const made: Deadline[] = [];

/** A deadline `ms` from now (cut-off optionally later), released by `releaseDeadlines` after the test. */
export function deadlineIn(ms: number, cutOffMs = ms): Deadline {
  const now = Date.now();
  const deadline = new Deadline(now + ms, Date.now, now + cutOffMs);
  made.push(deadline);
  return deadline;
}

/** Stops the timers of every deadline made by `deadlineIn`. */
export function releaseDeadlines(): void {
  for (const deadline of made.splice(0)) deadline.release();
}
