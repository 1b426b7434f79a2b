import { describe, expect, it } from 'vitest';
import { formatDuration, Progress } from '../../../handler/cli/progress';

function output(isTTY: boolean): { isTTY: boolean; text: string; write(chunk: string): void } {
  return {
    isTTY,
    text: '',
    write(chunk: string): void {
      this.text += chunk;
    },
  };
}

describe('Class: Progress', () => {
  it('shows a bar, items/s since the start (not counting an earlier run) and an ETA from the expected count', () => {
    // Prepare
    let now = 0;
    const progress = new Progress({ output: output(true), verb: 'copied', expected: 10_000, alreadyDone: 1_000, now: () => now });

    // Act
    progress.add(2_000);
    now = 4_000;

    // Assess
    expect(progress.line()).toBe('[#######.................] 30.0%  3,000/~10,000 items copied  500 items/s  ETA 14s  elapsed 4s');
  });

  it('drops the bar and ETA when DynamoDB\'s estimate is already passed', () => {
    // Prepare
    let now = 0;
    const progress = new Progress({ output: output(false), verb: 'scanned', expected: 10, now: () => now });

    // Act
    progress.add(50);
    now = 2_000;

    // Assess
    expect(progress.line()).toBe('50 items scanned  25 items/s  elapsed 2s');
  });

  it('redraws in place on a terminal and ends the line when stopped', () => {
    // Prepare
    const terminal = output(true);
    const progress = new Progress({ output: terminal, verb: 'copied', expected: 0 });
    progress.start();

    // Act
    progress['draw']();
    progress.stop();

    // Assess
    expect(terminal.text.startsWith('\r\x1b[K0 items copied')).toBe(true);
    expect(terminal.text.endsWith('\n')).toBe(true);
  });
});

describe('Function: formatDuration', () => {
  it.each([
    [0, '0s'],
    [42_400, '42s'],
    [185_000, '3m05s'],
    [3_720_000, '1h02m'],
  ])('writes %i ms as %s', (ms, text) => {
    // Act & Assess
    expect(formatDuration(ms)).toBe(text);
  });
});
