/**
 * The README's first quick-start command, as a user runs it: `npm run demo` replicates a live workload with the
 * committed bundle and ends by proving every slave equal to the master.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function runDemo(args: readonly string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', '--silent', 'demo', '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, output }));
  });
}

describe('npm run demo', () => {
  it('replicates a workload into every slave, one of them throttled, and ends with every slave equal to the master', async () => {
    // Act
    const run = await runDemo(['--slaves', '2', '--duration', '6', '--rate', '80', '--fault', 'throttle', '--plain']);

    // Assess
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Every slave matches the master.');
    expect(run.output).toMatch(/eu +eu-west-1\/orders .*[1-9]\d* faults injected; identical/);
  });
});
