/**
 * DynamoDB Local, AWS's own engine, installed from Maven Central and run as a child JVM.
 *
 * Every engine started here is killed when its `stop()` is called, when this process
 * exits or is interrupted, and (through a small shell watchdog) even when this process
 * is killed outright, so no JVM and no port outlives the test run or the demo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where an engine was installed, and what a JVM needs to run it. */
export interface DynamoDbLocalInstall {
  /** Directory holding `lib/` (jars) and `native/` (sqlite4java libraries). */
  readonly dir: string;
  /** The engine version, read from the pom. */
  readonly version: string;
}

/** A running DynamoDB Local engine. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` to an SDK client. */
  readonly endpoint: string;
  readonly port: number;
  /** The JVM's process id. */
  readonly pid: number;
  /** Milliseconds from spawning the JVM to its first answer. */
  readonly startupMs: number;
  /** Kills the engine (SIGTERM, then SIGKILL after 5 s); resolves once the JVM has exited. */
  stop(): Promise<void>;
}

/** Options of {@link startDynamoDbLocal}. */
export interface StartDynamoDbLocalOptions {
  /** A fixed port; by default a free one is picked. */
  readonly port?: number;
  /** Replaces the default JVM flags ({@link DEFAULT_JVM_ARGS}). */
  readonly jvmArgs?: readonly string[];
  /** How long to wait for the engine's first answer; default 60 s (the machine may be busy). */
  readonly startTimeoutMs?: number;
}

/** Raised when the engine cannot be installed or started; the message says what to fix. */
export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

const MAIN_CLASS = 'software.amazon.dynamodb.services.local.main.ServerRunner';

/**
 * C1 only and the serial collector: the engine starts about twice as fast and takes
 * ~120 MB instead of ~200 MB, so several engines fit on a small machine. Peak speed is
 * lower than with C2, which does not matter at test and demo rates.
 */
export const DEFAULT_JVM_ARGS: readonly string[] = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xss512k',
  '-Xms32m',
  '-Xmx384m',
];

const POM_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/dynamodb-local/pom.xml');

/** `${DYNAMO_REPLICATOR_CACHE:-~/.cache/dynamo-replicator}`. */
export function cacheDir(): string {
  return process.env['DYNAMO_REPLICATOR_CACHE'] ?? join(homedir(), '.cache', 'dynamo-replicator');
}

function commandExists(command: string, args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) return { ok: false, output: result.error.message };
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

function checkJava(): void {
  const java = commandExists('java', ['-version']);
  if (!java.ok) {
    throw new DynamoDbLocalError(
      `DynamoDB Local needs Java 17 or later on PATH, and \`java -version\` failed (${java.output.trim()}). ` +
        'Install a JDK 17+ (e.g. `apt-get install openjdk-17-jre-headless`, or Temurin 17) and retry.',
    );
  }
  const major = /version "(\d+)/.exec(java.output)?.[1];
  if (major !== undefined && Number(major) < 17) {
    throw new DynamoDbLocalError(`DynamoDB Local needs Java 17 or later; \`java -version\` says ${major}. Install a JDK 17+.`);
  }
}

function checkMaven(): void {
  const mvn = commandExists('mvn', ['-v']);
  if (!mvn.ok) {
    throw new DynamoDbLocalError(
      `Installing DynamoDB Local needs Maven 3 on PATH (it fetches the engine from Maven Central), and \`mvn -v\` failed (${mvn.output.trim()}). ` +
        'Install Maven (e.g. `apt-get install maven`) and retry.',
    );
  }
}

let installing: Promise<DynamoDbLocalInstall> | undefined;

function runMaven(args: readonly string[], cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((done, fail) => {
    const mvn = spawn('mvn', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-16_000);
    };
    mvn.stdout.on('data', keep);
    mvn.stderr.on('data', keep);
    mvn.once('error', fail);
    mvn.once('close', (status) => done({ status, output }));
  });
}

/**
 * Installs DynamoDB Local into `<cache>/dynamodb-local/<version>-<pom hash>/` unless a
 * stamp file there says it is already done. Maven writes into a private staging
 * directory that is renamed into place, so concurrent callers (test files, the demo)
 * never see a half-written install. Warm, this costs one `stat`; the
 * result is memoised per process.
 */
export function ensureDynamoDbLocal(): Promise<DynamoDbLocalInstall> {
  installing ??= install().catch((error: unknown) => {
    installing = undefined;
    throw error;
  });
  return installing;
}

async function install(): Promise<DynamoDbLocalInstall> {
  const pom = readFileSync(POM_PATH, 'utf8');
  const version = /<dynamodb-local\.version>([^<]+)</.exec(pom)?.[1] ?? 'unknown';
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const root = join(cacheDir(), 'dynamodb-local');
  const dir = join(root, `${version}-${hash}`);
  const stamp = join(dir, '.installed');
  if (!existsSync(stamp)) {
    checkJava();
    checkMaven();
    mkdirSync(root, { recursive: true });
    const staging = join(root, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const mvn = await runMaven(['-B', '-q', '-f', POM_PATH, `-Dinstall.dir=${staging}`, 'package'], root);
      if (mvn.status !== 0) {
        throw new DynamoDbLocalError(
          `Maven could not install DynamoDB Local ${version} from Maven Central (exit ${String(mvn.status)}):\n${mvn.output}`,
        );
      }
      writeFileSync(join(staging, '.installed'), `${JSON.stringify({ version, pom: hash, at: new Date().toISOString() })}\n`);
      try {
        renameSync(staging, dir);
      } catch (error) {
        // Another process finished first: its install is as good as ours.
        if (!existsSync(stamp)) throw error;
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { dir, version };
}

function classpath(install: DynamoDbLocalInstall): string {
  // Listed jar by jar: a `lib/*` wildcard is expanded by the launcher but still reaches
  // the JVM as a directory entry in some diagnostics, and explicit paths are unambiguous.
  const lib = join(install.dir, 'lib');
  return readdirSync(lib)
    .filter((name) => name.endsWith('.jar'))
    .sort()
    .map((name) => join(lib, name))
    .join(delimiter);
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const running = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // An application that listens for this signal itself (the demo) owns the shutdown:
      // it stops its engines in order, and the exit hook reaps whatever is left.
      if (process.listenerCount(signal) > 1) return;
      killAllNow();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Kills the JVM if this Node process disappears without running its exit hooks
 * (SIGKILL, a crashed vitest worker). Ends by itself once the JVM is gone.
 */
function spawnWatchdog(javaPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${javaPid} 2>/dev/null; do sleep 1; done; kill -9 ${javaPid} 2>/dev/null; exit 0`;
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    // Any HTTP answer (even a 400 for the missing signature) means the server is up.
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'DynamoDB_20120810.ListTables', 'Content-Type': 'application/x-amz-json-1.0' },
      body: '{}',
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

async function startOnce(
  engine: DynamoDbLocalInstall,
  port: number,
  options: StartDynamoDbLocalOptions,
): Promise<DynamoDbLocal | 'port-taken'> {
  const args = [
    ...(options.jvmArgs ?? DEFAULT_JVM_ARGS),
    `-Djava.library.path=${join(engine.dir, 'native')}`,
    '-cp',
    classpath(engine),
    MAIN_CLASS,
    '-inMemory',
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(port),
  ];
  const started = Date.now();
  // A process group of its own: a Ctrl-C in the terminal reaches the Node process only,
  // which then stops the engines in order instead of losing them mid-write.
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // Updated from callbacks, so kept in an object the compiler does not narrow.
  const state: { alive: boolean; spawnError: Error | undefined } = { alive: true, spawnError: undefined };
  child.once('error', (error) => {
    state.spawnError = error;
  });
  void exited.then(() => {
    state.alive = false;
    running.delete(child);
  });
  if (child.pid !== undefined) {
    running.add(child);
    spawnWatchdog(child.pid);
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = started + (options.startTimeoutMs ?? 60_000);
  while (!(await answers(endpoint))) {
    if (state.spawnError) {
      throw new DynamoDbLocalError(`Could not run \`java\` for DynamoDB Local (${state.spawnError.message}); it needs Java 17+ on PATH.`);
    }
    if (!state.alive) {
      if (/Address already in use|BindException/.test(output)) return 'port-taken';
      throw new DynamoDbLocalError(`DynamoDB Local exited before answering on ${endpoint}:\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new DynamoDbLocalError(`DynamoDB Local did not answer on ${endpoint} within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`);
    }
    await sleep(50);
  }
  const startupMs = Date.now() - started;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!state.alive) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  return { endpoint, port, pid: child.pid ?? -1, startupMs, stop };
}

/**
 * Starts a DynamoDB Local engine (`-inMemory -sharedDb`) on 127.0.0.1 and resolves once
 * it answers. With `-sharedDb` the region a client signs with does not matter: one
 * engine can stand for one "region" holding several tables.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const installation = await ensureDynamoDbLocal();
  installExitHooks();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = options.port ?? (await freePort());
    const engine = await startOnce(installation, port, options);
    if (engine !== 'port-taken') return engine;
    if (options.port !== undefined) break;
  }
  throw new DynamoDbLocalError(
    options.port !== undefined ? `Port ${options.port} is already in use.` : 'Could not find a free port for DynamoDB Local.',
  );
}

/** SDK client settings for a local engine: its endpoint, a region, and dummy credentials. */
export function localClientConfig(
  endpoint: string,
  region = 'us-east-1',
): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}
