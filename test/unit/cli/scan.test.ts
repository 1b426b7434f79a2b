import { DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { readAhead, scanSegment, type ScanPage } from '../../../handler/cli/scan';
import { readTableFacts } from '../../../handler/cli/table-facts';
import { awsError, FAST_BACKOFF } from '../helpers/writes';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const options = { client, tableName: 'orders', label: 'master table orders in eu-west-1', segment: 1, totalSegments: 4, consistentRead: true, backoff: FAST_BACKOFF };

async function pagesOf(generator: AsyncGenerator<ScanPage>): Promise<ScanPage[]> {
  const pages: ScanPage[] = [];
  for await (const page of generator) pages.push(page);
  return pages;
}

describe('Function: scanSegment', () => {
  afterEach(() => ddb.reset());

  it('follows LastEvaluatedKey through every page of its segment, reading consistently', async () => {
    // Prepare
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ pk: { S: 'a' } }], LastEvaluatedKey: { pk: { S: 'a' } }, ConsumedCapacity: { CapacityUnits: 2 } })
      .resolvesOnce({ Items: [{ pk: { S: 'b' } }] });

    // Act
    const pages = await pagesOf(scanSegment(options));

    // Assess
    expect(pages.map((page) => page.items)).toEqual([[{ pk: { S: 'a' } }], [{ pk: { S: 'b' } }]]);
    expect(pages[0]?.consumedCapacity).toBe(2);
    expect(ddb.commandCalls(ScanCommand)[1]?.args[0].input).toMatchObject({ Segment: 1, TotalSegments: 4, ConsistentRead: true, ExclusiveStartKey: { pk: { S: 'a' } } });
  });

  it('retries a throttled Scan', async () => {
    // Prepare
    ddb.on(ScanCommand).rejectsOnce(awsError('ProvisionedThroughputExceededException', 400)).resolves({ Items: [] });

    // Act
    const pages = await pagesOf(scanSegment(options));

    // Assess
    expect(pages).toHaveLength(1);
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(2);
  });

  it('stops at once on an error retrying cannot fix, naming the table and segment', async () => {
    // Prepare
    ddb.on(ScanCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform: dynamodb:Scan'));

    // Act & Assess
    await expect(pagesOf(scanSegment(options))).rejects.toThrow(
      'master table orders in eu-west-1, segment 1 of 4: Scan failed: AccessDeniedException: not authorized to perform: dynamodb:Scan',
    );
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(1);
  });

  it('reads nothing more once it is stopped', async () => {
    // Prepare
    const controller = new AbortController();
    controller.abort();

    // Act
    const pages = await pagesOf(scanSegment({ ...options, signal: controller.signal }));

    // Assess
    expect(pages).toEqual([]);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('Function: readTableFacts', () => {
  afterEach(() => ddb.reset());

  it('names the table when DescribeTable fails', async () => {
    // Prepare
    ddb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException', 400, 'Requested resource not found: Table: orders not found'));

    // Act & Assess
    await expect(readTableFacts(client, 'orders', 'master table orders in eu-west-1')).rejects.toThrow(
      'master table orders in eu-west-1: DescribeTable failed: ResourceNotFoundException: Requested resource not found: Table: orders not found',
    );
  });

  it('rejects an answer without a table', async () => {
    // Prepare
    ddb.on(DescribeTableCommand).resolves({});

    // Act & Assess
    await expect(readTableFacts(client, 'orders', 'master table orders')).rejects.toThrow('master table orders: DescribeTable returned no table');
  });
});

describe('Function: readAhead', () => {
  it('asks for the next value while the caller still works on the current one, and closes the source when the caller stops', async () => {
    // Prepare
    const events: string[] = [];
    async function* source(): AsyncGenerator<number> {
      try {
        for (let page = 1; page <= 3; page += 1) {
          await Promise.resolve();
          events.push(`read ${page}`);
          yield page;
        }
      } finally {
        events.push('closed');
      }
    }

    // Act
    for await (const page of readAhead(source())) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`wrote ${page}`);
      if (page === 2) break;
    }

    // Assess
    expect(events).toEqual(['read 1', 'read 2', 'wrote 1', 'read 3', 'wrote 2', 'closed']);
  });
});
