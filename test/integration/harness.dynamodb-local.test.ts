import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { localClientConfig, startDynamoDbLocal } from '../support/dynamodb-local';

const ENGINE_MODULE = fileURLToPath(new URL('../support/dynamodb-local.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return check();
}

/** Runs a Node process that starts an engine, prints its pid and port, then ends as `ending` says. */
function engineInChild(ending: string): Promise<{ pid: number; port: number; child: ReturnType<typeof spawn> }> {
  const script = `
    import { startDynamoDbLocal } from ${JSON.stringify(ENGINE_MODULE)};
    startDynamoDbLocal().then((engine) => {
      console.log(JSON.stringify({ pid: engine.pid, port: engine.port }));
      ${ending}
    });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) done({ ...(JSON.parse(line) as { pid: number; port: number }), child });
    });
    child.once('exit', (code) => fail(new Error(`child exited with ${String(code)} before starting the engine`)));
  });
}

describe('Function: startDynamoDbLocal', () => {
  it('starts engines that answer on loopback, and stop() frees the process and the port', async () => {
    // Prepare
    const [first, second] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);

    // Act
    const client = new DynamoDBClient(localClientConfig(first.endpoint));
    const tables = await client.send(new ListTablesCommand({}));
    client.destroy();
    await Promise.all([first.stop(), second.stop()]);

    // Assess
    expect(tables.TableNames).toEqual([]);
    expect(first.endpoint).toBe(`http://127.0.0.1:${first.port}`);
    expect(first.port).not.toBe(second.port);
    expect(alive(first.pid) || alive(second.pid)).toBe(false);
    expect(await portOpen(first.port)).toBe(false);
  });

  it.each([
    ['exits', 'process.exit(0);'],
    ['is interrupted (SIGINT)', "process.kill(process.pid, 'SIGINT');"],
    ['is killed outright (SIGKILL)', "process.kill(process.pid, 'SIGKILL');"],
  ])('leaves no engine behind when its process %s', async (_, ending) => {
    // Act
    const { pid, port, child } = await engineInChild(ending);
    await new Promise((done) => child.once('exit', done));

    // Assess
    expect(await eventually(() => !alive(pid), 10_000)).toBe(true);
    expect(await eventually(async () => !(await portOpen(port)), 5_000)).toBe(true);
  });
});
