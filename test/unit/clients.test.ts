import { BatchGetItemCommand, BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClientProvider } from '../../handler/clients';
import { Deadline, REQUEST_TIMEOUT_MS } from '../../handler/timing';
import { eventually } from '../support/eventually';
import { silentServer } from './helpers/silent-server';

interface Seen {
  readonly target: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

/** A loopback stand-in for DynamoDB and STS that records what reaches it. */
let server: Server;
let endpoint: string;
const seen: Seen[] = [];

const ASSUMED = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
<AccessKeyId>ASIAASSUMED</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>
<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/w/s</Arn>
<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const savedEnv = { ...process.env };

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ target: header(request.headers, 'x-amz-target'), authorization: header(request.headers, 'authorization'), body });
      if (body.includes('Action=AssumeRole')) {
        response.writeHead(200, { 'content-type': 'text/xml' }).end(ASSUMED);
      } else {
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('Function: createClientProvider', () => {
  beforeEach(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAFUNCTION';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    delete process.env.AWS_ENDPOINT_URL_STS;
  });

  afterEach(() => {
    process.env = { ...savedEnv };
    seen.length = 0;
  });

  it('builds the master client without an endpoint, so AWS_ENDPOINT_URL_DYNAMODB decides where it goes', async () => {
    // Prepare
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;

    // Act
    await createClientProvider()
      .forMaster('eu-west-1')
      .send(new BatchGetItemCommand({ RequestItems: { orders: { Keys: [{ pk: { S: 'a' } }] } } }));

    // Assess
    expect(seen).toHaveLength(1);
    expect(seen[0]?.target).toBe('DynamoDB_20120810.BatchGetItem');
    expect(seen[0]?.authorization).toContain('Credential=AKIAFUNCTION/');
    expect(seen[0]?.authorization).toContain('/eu-west-1/dynamodb/');
  });

  it('builds a master client for an explicit endpoint when asked, as the command-line tool does for local engines', async () => {
    // Prepare
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:9';

    // Act
    await createClientProvider()
      .forMaster('eu-west-1', endpoint)
      .send(new BatchGetItemCommand({ RequestItems: { orders: { Keys: [{ pk: { S: 'a' } }] } } }));

    // Assess
    expect(seen.map((request) => request.target)).toEqual(['DynamoDB_20120810.BatchGetItem']);
  });

  it('sends a slave with an endpoint there, in its region', async () => {
    // Act
    await createClientProvider()
      .forSlave({ name: 'local', region: 'ap-southeast-2', tableName: 'orders', endpoint })
      .send(new BatchWriteItemCommand({ RequestItems: { orders: [{ DeleteRequest: { Key: { pk: { S: 'a' } } } }] } }));

    // Assess
    expect(seen.map((request) => request.target)).toEqual(['DynamoDB_20120810.BatchWriteItem']);
    expect(seen[0]?.authorization).toContain('/ap-southeast-2/dynamodb/');
  });

  it('writes a slave with a role through credentials from sts:AssumeRole', async () => {
    // Prepare
    process.env.AWS_ENDPOINT_URL_STS = endpoint;
    const slave = { name: 'partner', region: 'us-east-1', tableName: 'orders', endpoint, roleArn: 'arn:aws:iam::210987654321:role/w', externalId: 'shared' };

    // Act
    await createClientProvider()
      .forSlave(slave)
      .send(new BatchWriteItemCommand({ RequestItems: { orders: [{ DeleteRequest: { Key: { pk: { S: 'a' } } } }] } }));

    // Assess
    expect(seen).toHaveLength(2);
    expect(seen[0]?.body).toContain('Action=AssumeRole');
    expect(seen[0]?.body).toContain(`RoleArn=${encodeURIComponent(slave.roleArn)}`);
    expect(seen[0]?.body).toContain('ExternalId=shared');
    expect(seen[0]?.body).toContain('RoleSessionName=dynamo-replicator-partner');
    expect(seen[1]?.authorization).toContain('Credential=ASIAASSUMED/');
  });

  // Waits one REQUEST_TIMEOUT_MS (5 s) for real: only a socket that stays silent that long shows the timeout works.
  it('fails an attempt that gets no answer after REQUEST_TIMEOUT_MS, long before a far deadline', async () => {
    // Prepare
    const silent = await silentServer();
    const deadline = new Deadline(Date.now() + 4 * REQUEST_TIMEOUT_MS);
    const client = createClientProvider().forSlave({ name: 'hung', region: 'eu-west-1', tableName: 'orders', endpoint: silent.endpoint });
    const started = Date.now();

    // Act
    const error = await client
      .send(new BatchWriteItemCommand({ RequestItems: { orders: [{ DeleteRequest: { Key: { pk: { S: 'a' } } } }] } }), { abortSignal: deadline.cutOff })
      .then(
        () => undefined,
        (failure: unknown) => failure,
      )
      .finally(() => {
        deadline.release();
        return silent.close();
      });
    const elapsed = Date.now() - started;

    // Assess
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(deadline.cutOff.aborted).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(3 * REQUEST_TIMEOUT_MS);
  }, 6 * REQUEST_TIMEOUT_MS);

  // The SDK uses its middleware cache only for a send without options; the signal must reach the request all the same.
  it("resolves its middleware once per command type, and still ends each call, and closes its connection, when that call's abort signal fires", async () => {
    // Prepare
    const silent = await silentServer();
    const client = createClientProvider().forSlave({ name: 'hung', region: 'eu-west-1', tableName: 'orders', endpoint: silent.endpoint });
    const write = (): BatchWriteItemCommand => new BatchWriteItemCommand({ RequestItems: { orders: [{ DeleteRequest: { Key: { pk: { S: 'a' } } } }] } });
    const connectionsAre = (open: number): Promise<void> =>
      eventually(
        () => Promise.resolve(silent.openConnections() === open),
        `${open} connection(s) open`,
        () => Promise.resolve(silent.connections()),
        { idleMs: REQUEST_TIMEOUT_MS, pollMs: 10 },
      );

    try {
      for (const call of [1, 2]) {
        // Act
        const controller = new AbortController();
        const started = Date.now();
        const failure = client.send(write(), { abortSignal: controller.signal }).then(
          () => undefined,
          (error: unknown) => error,
        );
        await connectionsAre(1);
        controller.abort(new Error(`call ${call} cut off`));
        const error = await failure;

        // Assess
        expect(error).toMatchObject({ name: 'AbortError' });
        expect(Date.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS);
        await connectionsAre(0);
      }
      expect(client.config.cacheMiddleware).toBe(true);
    } finally {
      await silent.close();
    }
  }, 4 * REQUEST_TIMEOUT_MS);

  it('shares one client between slaves of one region, endpoint and role', () => {
    // Prepare
    const provider = createClientProvider();

    // Act
    const a = provider.forSlave({ name: 'a', region: 'eu-west-1', tableName: 'one' });
    const b = provider.forSlave({ name: 'b', region: 'eu-west-1', tableName: 'two' });
    const c = provider.forSlave({ name: 'c', region: 'eu-central-1', tableName: 'one' });

    // Assess
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(provider.forMaster('eu-west-1')).toBe(provider.forMaster('eu-west-1'));
  });
});
