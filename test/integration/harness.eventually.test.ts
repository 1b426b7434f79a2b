import { describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';

describe('Function: eventually', () => {
  it('keeps waiting past idleMs in total while the progress snapshot changes', async () => {
    // Prepare: the condition holds after about 6 idle periods, with progress at every look
    let looks = 0;
    const started = Date.now();

    // Act
    await eventually(
      () => Promise.resolve(looks >= 30),
      'the slow work',
      () => Promise.resolve((looks += 1)),
      { idleMs: 100, pollMs: 20 },
    );

    // Assess
    expect(Date.now() - started).toBeGreaterThan(100);
  });

  it('fails once idleMs pass with the condition false and nothing changing, naming what it waited for', async () => {
    // Prepare
    let looks = 0;

    // Act
    const waited = eventually(
      () => Promise.resolve(false),
      'the stuck work',
      () => Promise.resolve(Math.min((looks += 1), 3)),
      { idleMs: 100, pollMs: 20 },
    );

    // Assess
    await expect(waited).rejects.toThrow('the stuck work: not reached, and no progress for 100 ms');
    expect(looks).toBeGreaterThan(3);
  });
});
