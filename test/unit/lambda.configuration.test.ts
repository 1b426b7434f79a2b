import { LambdaClient, ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { contextWith, put, STREAM_ARN, streamEvent } from './helpers/records';
import { awsError } from './helpers/writes';

const lambda = mockClient(LambdaClient);
const savedEnv = { ...process.env };
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:orders-replicator';
const SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' } });

type Entry = typeof import('../../handler/lambda');

async function loadEntry(env: Record<string, string>): Promise<Entry> {
  vi.resetModules();
  // Any DynamoDB call would fail at once: a rejected configuration must make none.
  process.env = { ...savedEnv, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', ...env };
  return import('../../handler/lambda');
}

const invocation = (): ReturnType<typeof contextWith> & { invokedFunctionArn: string } => ({ ...contextWith(10_000), invokedFunctionArn: FUNCTION_ARN });

describe('Function: handler, with a configuration it rejects', () => {
  let lines: Record<string, unknown>[];

  beforeEach(() => {
    lines = [];
    // Powertools writes errors to standard error and metrics to standard output; Lambda logs both, in this order.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((line: string | Uint8Array) => {
        lines.push(JSON.parse(String(line)) as Record<string, unknown>);
        return true;
      });
    }
    lambda.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [{ UUID: 'mapping-1', State: 'Enabled' }, { UUID: 'mapping-0', State: 'Disabled' }] });
    lambda.on(UpdateEventSourceMappingCommand).resolves({});
  });

  afterEach(() => {
    lambda.reset();
    process.env = { ...savedEnv };
  });

  it('disables the mapping of the invoking function and stream, logs why, emits ConfigurationErrors, and still fails', async () => {
    // Prepare
    const { handler } = await loadEntry({ REPLICATOR_STATE_TABLE: 'orders-state', REPLICATOR_SLAVES: '{"eu":{"region":"eu-west-1"}}', REPLICATOR_NAME: 'orders-replicator', REPLICATOR_METRICS_NAMESPACE: 'Team/Replication' });

    // Act
    const invoking = handler(streamEvent(put('a', '1')), invocation());

    // Assess
    await expect(invoking).rejects.toThrow('REPLICATOR_SLAVES.eu.table_name: is missing: every slave needs region and table_name');
    expect(lambda).toHaveReceivedCommandWith(ListEventSourceMappingsCommand, { FunctionName: FUNCTION_ARN, EventSourceArn: STREAM_ARN });
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand).map((call) => call.args[0].input)).toEqual([{ UUID: 'mapping-1', Enabled: false }]);
    expect(lines[0]).toEqual({
      level: 'ERROR',
      message:
        'configuration rejected; event source mapping mapping-1 disabled so that no record is consumed: fix the configuration, then re-enable the mapping (terraform apply does)',
      error: 'REPLICATOR_SLAVES.eu.table_name: is missing: every slave needs region and table_name',
      disabledMappings: ['mapping-1'],
      service: 'orders-replicator',
      timestamp: expect.any(String) as unknown,
      sampling_rate: 0,
    });
    expect(lines[1]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Team/Replication', Dimensions: [['Replicator']], Metrics: [{ Name: 'ConfigurationErrors', Unit: 'Count' }] }] },
      Replicator: 'orders-replicator',
      ConfigurationErrors: 1,
    });
  });

  it('disables its mapping on a configuration rejected at the first batch: a slave that is the master itself', async () => {
    // Prepare
    const { handler } = await loadEntry({ REPLICATOR_STATE_TABLE: 'orders-state', REPLICATOR_SLAVES: JSON.stringify({ loop: { region: 'eu-west-1', table_name: 'orders' } }), REPLICATOR_NAME: 'orders-replicator' });

    // Act
    const invoking = handler(streamEvent(put('a', '1')), invocation());

    // Assess
    await expect(invoking).rejects.toThrow('REPLICATOR_SLAVES.loop: is the master table itself (orders in eu-west-1)');
    expect(lambda).toHaveReceivedCommandTimes(UpdateEventSourceMappingCommand, 1);
    expect(lines[1]).toMatchObject({ Replicator: 'orders-replicator', ConfigurationErrors: 1 });
  });

  it('logs a failure to disable the mapping, and fails with the configuration error, not the Lambda one', async () => {
    // Prepare
    lambda.on(UpdateEventSourceMappingCommand).rejects(awsError('AccessDeniedException', 403, 'not authorized to perform: lambda:UpdateEventSourceMapping'));
    const { handler } = await loadEntry({ REPLICATOR_SLAVES: SLAVES });

    // Act
    const invoking = handler(streamEvent(put('a', '1')), invocation());

    // Assess
    await expect(invoking).rejects.toThrow('REPLICATOR_STATE_TABLE: is not set');
    expect(lines[0]).toMatchObject({
      level: 'ERROR',
      message:
        'configuration rejected; the event source mapping could not be disabled (AccessDeniedException: not authorized to perform: lambda:UpdateEventSourceMapping): every invocation fails until the configuration is fixed',
      disabledMappings: [],
    });
    expect(lines[1]).toMatchObject({ Replicator: 'dynamo-replicator', ConfigurationErrors: 1 });
  });

  it('does not disable its mapping for an event that is not a stream batch', async () => {
    // Prepare
    const { handler } = await loadEntry({ REPLICATOR_STATE_TABLE: 'orders-state', REPLICATOR_SLAVES: SLAVES });

    // Act & Assess
    await expect(handler({ hello: 'world' }, invocation())).rejects.toThrow('the event is not a DynamoDB stream batch');
    expect(lambda.calls()).toHaveLength(0);
  });

  it('refuses to drain or copy with the configuration error', async () => {
    // Prepare
    const { drain, copySegment } = await loadEntry({ REPLICATOR_SLAVES: SLAVES });

    // Act & Assess
    await expect(drain({}, invocation())).rejects.toThrow('REPLICATOR_STATE_TABLE: is not set');
    await expect(copySegment({ slave: 'eu', segment: 0, totalSegments: 1 }, invocation())).rejects.toThrow('REPLICATOR_STATE_TABLE: is not set');
    expect(lines.map((line) => line.message)).toEqual(['configuration rejected; nothing drained', 'configuration rejected; nothing copied']);
    expect(lambda.calls()).toHaveLength(0);
  });
});
