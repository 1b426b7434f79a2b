/** How long {@link eventually} waits without progress, and how often it looks. */
export interface EventuallyOptions {
  readonly idleMs: number;
  readonly pollMs?: number;
}

/**
 * Waits until `condition` holds. It fails only after `idleMs` in which the condition never held and `progress` (a
 * snapshot of what moves while the work goes on, compared as JSON) did not change: on a busy machine, work that is
 * slow but moving is waited for, however long it takes in total.
 */
export async function eventually(condition: () => Promise<boolean>, what: string, progress: () => Promise<unknown>, options: EventuallyOptions): Promise<void> {
  let last = JSON.stringify(await progress());
  let changedAt = Date.now();
  while (!(await condition())) {
    await new Promise((done) => setTimeout(done, options.pollMs ?? 100));
    const now = JSON.stringify(await progress());
    if (now !== last) [last, changedAt] = [now, Date.now()];
    else if (Date.now() - changedAt > options.idleMs) throw new Error(`${what}: not reached, and no progress for ${options.idleMs} ms`);
  }
}
