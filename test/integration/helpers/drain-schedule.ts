import { contextWith, type Bundle } from './bundle';

/** A drain run again and again, as the module's EventBridge schedule runs it every minute (here far more often). */
export interface DrainSchedule {
  /** What each run resolved with, in order. */
  readonly runs: { pending: Record<string, number> }[];
  /** Stops after the run in progress. */
  stop(): Promise<void>;
}

/** Starts running `bundle.drain` every `everyMs` after the previous run ends, each with `timeoutMs` of function time. */
export function scheduleDrain(bundle: Bundle, everyMs: number, timeoutMs = 3_000): DrainSchedule {
  const runs: { pending: Record<string, number> }[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      runs.push(await bundle.drain({}, contextWith(timeoutMs, 'dynamo-replicator-drain')));
      await new Promise((done) => setTimeout(done, everyMs));
    }
  })();
  return {
    runs,
    stop: async () => {
      stop.abort();
      await loop;
    },
  };
}
