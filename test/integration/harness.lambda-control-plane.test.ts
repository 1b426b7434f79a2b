import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient, ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import {
  EventSourceMappingState,
  startLambdaControlPlane,
  type EventSourceMappingSettings,
  type LambdaControlPlane,
} from '../support/lambda-control-plane';
import { NotCaughtUpError, StreamPoller, type StreamHandler } from '../support/stream-poller';
import { createTable } from '../support/tables';

const FUNCTION_NAME = 'replicator-under-test';

describe('Function: startLambdaControlPlane', () => {
  let engine: DynamoDbLocal;
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let plane: LambdaControlPlane;
  let poller: StreamPoller | undefined;
  let savedEndpoint: string | undefined;
  let tableCount = 0;

  beforeAll(async () => {
    engine = await startDynamoDbLocal();
    client = new DynamoDBClient(localClientConfig(engine.endpoint));
    streams = new DynamoDBStreamsClient(localClientConfig(engine.endpoint));
    plane = await startLambdaControlPlane();
  });

  beforeEach(() => {
    savedEndpoint = process.env['AWS_ENDPOINT_URL_LAMBDA'];
    // How the handler under test finds the control plane: the SDK's per-service endpoint variable.
    process.env['AWS_ENDPOINT_URL_LAMBDA'] = plane.endpoint;
  });

  afterEach(async () => {
    if (savedEndpoint === undefined) delete process.env['AWS_ENDPOINT_URL_LAMBDA'];
    else process.env['AWS_ENDPOINT_URL_LAMBDA'] = savedEndpoint;
    await poller?.stop();
    poller = undefined;
  });

  afterAll(async () => {
    client.destroy();
    streams.destroy();
    await plane.stop();
    await engine.stop();
  });

  /** A client configured as the function's would be: no endpoint in code. */
  function lambdaClient(): LambdaClient {
    return new LambdaClient({ region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  }

  function settings(eventSourceArn: string): EventSourceMappingSettings {
    return {
      functionName: FUNCTION_NAME,
      region: 'eu-west-1',
      eventSourceArn,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 25,
      maximumBatchingWindowInSeconds: 0,
      parallelizationFactor: 2,
      maximumRetryAttempts: 3,
      maximumRecordAgeInSeconds: 3_600,
      bisectBatchOnFunctionError: true,
    };
  }

  async function errorOf(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it('answers ListEventSourceMappings by function name or ARN and stream ARN, a page at a time', async () => {
    // Prepare
    const streamArn = `arn:aws:dynamodb:eu-west-1:000000000000:table/list-${Date.now()}/stream/2026-01-01T00:00:00.000`;
    const created = [plane.createEventSourceMapping(settings(streamArn)), plane.createEventSourceMapping(settings(streamArn)), plane.createEventSourceMapping(settings(streamArn))];
    plane.createEventSourceMapping({ ...settings(streamArn), functionName: 'another-function' });
    const lambda = lambdaClient();

    // Act
    const first = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: FUNCTION_NAME, EventSourceArn: streamArn, MaxItems: 2 }));
    const second = await lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: FUNCTION_NAME, EventSourceArn: streamArn, MaxItems: 2, ...(first.NextMarker === undefined ? {} : { Marker: first.NextMarker }) }),
    );
    const byArn = await lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: `arn:aws:lambda:eu-west-1:000000000000:function:${FUNCTION_NAME}:$LATEST`, EventSourceArn: streamArn }),
    );
    lambda.destroy();

    // Assess
    expect(first.EventSourceMappings).toHaveLength(2);
    expect(first.NextMarker).toBeDefined();
    expect(second.EventSourceMappings).toHaveLength(1);
    expect(second.NextMarker).toBeUndefined();
    expect([...(first.EventSourceMappings ?? []), ...(second.EventSourceMappings ?? [])].map((mapping) => mapping.UUID)).toEqual(created.map((mapping) => mapping.UUID));
    expect(byArn.EventSourceMappings?.map((mapping) => mapping.UUID)).toEqual(created.map((mapping) => mapping.UUID));
    expect(first.EventSourceMappings?.[0]).toMatchObject({
      UUID: created[0]?.UUID,
      EventSourceArn: streamArn,
      FunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:${FUNCTION_NAME}`,
      State: 'Enabled',
      BatchSize: 25,
      ParallelizationFactor: 2,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3_600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      StartingPosition: 'TRIM_HORIZON',
    });
    expect(first.EventSourceMappings?.[0]?.LastModified).toBeInstanceOf(Date);
  });

  it('disables a mapping through Disabling, refuses updates while it changes state, and names unknown mappings', async () => {
    // Prepare
    const streamArn = `arn:aws:dynamodb:eu-west-1:000000000000:table/update-${Date.now()}/stream/2026-01-01T00:00:00.000`;
    const { UUID: uuid } = plane.createEventSourceMapping(settings(streamArn));
    const lambda = lambdaClient();

    // Act
    const disabling = await lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: false }));
    const whileChanging = await errorOf(lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: true })));
    plane.settle(uuid);
    const settled = await lambda.send(new ListEventSourceMappingsCommand({ EventSourceArn: streamArn }));
    const unknown = await errorOf(lambda.send(new UpdateEventSourceMappingCommand({ UUID: '00000000-0000-0000-0000-000000000000', Enabled: false })));
    const otherSetting = await errorOf(lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, BatchSize: 10 })));
    lambda.destroy();

    // Assess
    expect(disabling).toMatchObject({ UUID: uuid, State: 'Disabling', $metadata: { httpStatusCode: 202 } });
    expect(whileChanging).toMatchObject({ name: 'ResourceInUseException', $metadata: { httpStatusCode: 400 } });
    expect(settled.EventSourceMappings?.[0]?.State).toBe('Disabled');
    expect(plane.isEnabled(uuid)).toBe(false);
    expect(unknown).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    expect(otherSetting).toMatchObject({ name: 'InvalidParameterValueException', $metadata: { httpStatusCode: 400 } });
  });

  it('lets the function disable its own mapping: the poller stops invoking, keeps its checkpoint, and resumes once re-enabled', async () => {
    // Prepare
    tableCount += 1;
    const { tableName, streamArn } = await createTable(client, { tableName: `master-${tableCount}`, streamViewType: 'NEW_AND_OLD_IMAGES' });
    if (streamArn === undefined) throw new Error('no stream');
    const put = async (keys: readonly string[]): Promise<void> => {
      for (const key of keys) await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: key } } }));
    };
    const pkOf = (record: DynamoDBRecord): string => record.dynamodb?.Keys?.['pk']?.S ?? '';
    await put(['a', 'stop', 'b']);
    const delivered: string[] = [];
    const sequences = new Map<string, string>();
    const handler: StreamHandler = async (event, context) => {
      delivered.push(...event.Records.map(pkOf));
      for (const record of event.Records) sequences.set(pkOf(record), record.dynamodb?.SequenceNumber ?? '');
      if (!event.Records.some((record) => pkOf(record) === 'stop')) return;
      // What a function does to stop its own mapping: find it, then disable it.
      const lambda = lambdaClient();
      const { EventSourceMappings: mappings = [] } = await lambda.send(
        new ListEventSourceMappingsCommand({ FunctionName: context.invokedFunctionArn, EventSourceArn: event.Records[0]?.eventSourceARN }),
      );
      for (const mapping of mappings) await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: false }));
      lambda.destroy();
    };
    poller = new StreamPoller({ streams, streamArn, handler, batchSize: 1, functionName: FUNCTION_NAME, region: 'eu-west-1', controlPlane: plane, pollIntervalMs: 50 });
    const uuid = poller.eventSourceMappingUuid ?? '';
    const current = poller;

    // Act
    await poller.start();
    await vi.waitFor(() => expect(plane.getEventSourceMapping(uuid)?.State).toBe(EventSourceMappingState.DISABLED), { timeout: 10_000, interval: 20 });
    await put(['c', 'd']);
    const whileDisabled = await current.waitUntilCaughtUp({ idleTimeoutMs: 1_500 }).then(
      () => 'caught up',
      (error: unknown) => error,
    );
    const deliveredWhileDisabled = [...delivered];
    const checkpointWhileDisabled = current.checkpoints.values().next().value;
    plane.setEnabled(uuid, true);
    await current.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

    // Assess
    expect(deliveredWhileDisabled).toEqual(['a', 'stop']);
    expect(whileDisabled).toBeInstanceOf(NotCaughtUpError);
    expect(String(whileDisabled)).toMatch(/disabled/);
    expect(checkpointWhileDisabled).toBe(sequences.get('stop'));
    expect(delivered).toEqual(['a', 'stop', 'b', 'c', 'd']);
    expect(plane.getEventSourceMapping(uuid)?.State).toBe(EventSourceMappingState.ENABLED);
    expect(plane.stats.updateCalls).toBeGreaterThan(0);
  });
});
