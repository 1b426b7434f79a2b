import { eventually } from './eventually';

/** The scheduled drain's entry point (`drain` of `dist/lambda/index.mjs`): resolves with the parked changes left per slave. */
export type DrainEntry = (event: unknown, context: { getRemainingTimeInMillis(): number; functionName?: string }) => Promise<{ pending: Record<string, number> }>;

/** A drain run again and again, as the module's EventBridge schedule runs it every minute (here far more often). */
export interface DrainSchedule {
  /** What each run resolved with, in order. */
  readonly runs: { pending: Record<string, number> }[];
  /**
   * Resolves true once a run that started after this call finds nothing parked (a slave whose state could not be
   * read, pending -1, counts as something left); false once `idleMs` pass without a run leaving fewer.
   */
  untilNothingPending(idleMs: number): Promise<boolean>;
  /** Stops after the run in progress. */
  stop(): Promise<void>;
}

const left = (run: { pending: Record<string, number> }): number => Object.values(run.pending).reduce((sum, count) => sum + (count < 0 ? 1 : count), 0);

/** Starts running `drain` every `everyMs` after the previous run ends, each with `timeoutMs` of function time. */
export function scheduleDrain(drain: DrainEntry, everyMs: number, timeoutMs = 3_000): DrainSchedule {
  const runs: { pending: Record<string, number> }[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      const end = Date.now() + timeoutMs;
      runs.push(await drain({}, { getRemainingTimeInMillis: () => Math.max(0, end - Date.now()), functionName: 'dynamo-replicator-drain' }));
      await new Promise((done) => setTimeout(done, everyMs));
    }
  })();
  return {
    runs,
    async untilNothingPending(idleMs) {
      const after = runs.length;
      // What the latest run that started after this call left; before it, everything counts as left.
      const leftNow = (): number => {
        const run = runs.length > after ? runs[runs.length - 1] : undefined;
        return run === undefined ? Number.POSITIVE_INFINITY : left(run);
      };
      let fewest = Number.POSITIVE_INFINITY;
      return eventually(
        () => Promise.resolve(leftNow() === 0),
        'nothing pending',
        // Progress is a run leaving fewer than any before it.
        () => Promise.resolve((fewest = Math.min(fewest, leftNow()))),
        { idleMs },
      ).then(
        () => true,
        () => false,
      );
    },
    stop: async () => {
      stop.abort();
      await loop;
    },
  };
}
