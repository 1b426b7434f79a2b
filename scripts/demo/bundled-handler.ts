/**
 * Loads the committed Lambda bundle as the runtime would, and keeps its log lines out
 * of the live view.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DrainEntry } from '../../test/support/drain-schedule';
import type { StreamHandler } from '../../test/support/stream-poller';

/** The committed bundle, relative to the repository root. */
export const BUNDLE_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/lambda/index.mjs');

/**
 * Sets the function's environment, then imports the bundle: it reads its configuration
 * at import time, as in Lambda, so the order matters. Hands back its stream handler and
 * its drain, which the module runs on a schedule.
 */
export async function loadBundledHandler(environment: Readonly<Record<string, string>>): Promise<{ handler: StreamHandler; drain: DrainEntry }> {
  Object.assign(process.env, environment);
  const bundle: unknown = await import(pathToFileURL(BUNDLE_PATH).href);
  const entry = (name: string): unknown => (typeof bundle === 'object' && bundle !== null && name in bundle ? (bundle as Record<string, unknown>)[name] : undefined);
  const handler = entry('handler');
  const drain = entry('drain');
  if (typeof handler !== 'function' || typeof drain !== 'function') throw new Error(`${BUNDLE_PATH} does not export the handler and drain functions`);
  return { handler: handler as StreamHandler, drain: drain as DrainEntry };
}

/** Where the process's own output goes while {@link captureOutput} is in effect. */
export interface CapturedOutput {
  /** Writes to the real standard output. */
  readonly write: (text: string) => void;
  /** Writes to the real standard error. */
  readonly writeError: (text: string) => void;
  /** The file receiving everything else (the function's JSON logs and metrics). */
  readonly logPath: string;
  /** Puts standard output and error back; resolves once the log file is flushed. */
  restore(): Promise<void>;
}

/**
 * Sends everything written to standard output and error (the function's JSON log and
 * metric lines, SDK warnings) to `logPath`, and hands back writers to the real streams.
 */
export function captureOutput(logPath: string): CapturedOutput {
  mkdirSync(dirname(logPath), { recursive: true });
  const log: WriteStream = createWriteStream(logPath, { flags: 'w' });
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  const intoLog = ((chunk: string | Uint8Array) => log.write(chunk)) as typeof process.stdout.write;
  process.stdout.write = intoLog;
  process.stderr.write = intoLog;
  return {
    write: (text) => void stdoutWrite(text),
    writeError: (text) => void stderrWrite(text),
    logPath,
    restore: () =>
      new Promise<void>((done) => {
        process.stdout.write = stdoutWrite;
        process.stderr.write = stderrWrite;
        log.end(() => done());
      }),
  };
}
