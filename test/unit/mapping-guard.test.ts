import { LambdaClient, ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { stopOwnMapping } from '../../handler/mapping-guard';
import { put, STREAM_ARN, streamEvent } from './helpers/records';
import { awsError } from './helpers/writes';

const lambda = mockClient(LambdaClient);
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:orders-replicator';
const context = { getRemainingTimeInMillis: (): number => 10_000, invokedFunctionArn: FUNCTION_ARN, functionName: 'orders-replicator' };
const savedEnv = { ...process.env };

describe('Function: stopOwnMapping', () => {
  afterEach(() => {
    lambda.reset();
    process.env = { ...savedEnv };
  });

  it('lists the mappings of the invoking function and stream, page by page, and disables each enabled one', async () => {
    // Prepare
    lambda
      .on(ListEventSourceMappingsCommand)
      .resolvesOnce({ EventSourceMappings: [{ UUID: 'm-1', State: 'Enabled' }, { UUID: 'm-2', State: 'Disabled' }], NextMarker: 'page-2' })
      .resolves({ EventSourceMappings: [{ UUID: 'm-3', State: 'Updating' }, { UUID: 'm-4', State: 'Disabling' }, { State: 'Enabled' }] });
    lambda.on(UpdateEventSourceMappingCommand).resolves({});

    // Act
    const stop = await stopOwnMapping(streamEvent(put('a', '1')), context);

    // Assess
    expect(stop).toEqual({ disabled: ['m-1', 'm-3'] });
    expect(lambda).toHaveReceivedNthCommandWith(ListEventSourceMappingsCommand, 1, { FunctionName: FUNCTION_ARN, EventSourceArn: STREAM_ARN });
    expect(lambda).toHaveReceivedNthCommandWith(ListEventSourceMappingsCommand, 2, { FunctionName: FUNCTION_ARN, EventSourceArn: STREAM_ARN, Marker: 'page-2' });
    expect(lambda.commandCalls(UpdateEventSourceMappingCommand).map((call) => call.args[0].input)).toEqual([
      { UUID: 'm-1', Enabled: false },
      { UUID: 'm-3', Enabled: false },
    ]);
  });

  it('finds the function by its name, or by AWS_LAMBDA_FUNCTION_NAME, without an ARN', async () => {
    // Prepare
    lambda.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [] });
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'from-env';

    // Act
    await stopOwnMapping(streamEvent(put('a', '1')), { getRemainingTimeInMillis: () => 1, functionName: 'by-name' });
    await stopOwnMapping(streamEvent(put('a', '1')), undefined);

    // Assess
    expect(lambda.commandCalls(ListEventSourceMappingsCommand).map((call) => call.args[0].input.FunctionName)).toEqual(['by-name', 'from-env']);
  });

  it('says why, calling nothing, when the event names no stream', async () => {
    // Act
    const stop = await stopOwnMapping({ hello: 'world' }, context);

    // Assess
    expect(stop).toEqual({ disabled: [], error: 'the invocation names no function or stream to find the mapping by' });
    expect(lambda.calls()).toHaveLength(0);
  });

  it('returns the error, not throwing, when a mapping cannot be listed or disabled', async () => {
    // Prepare
    lambda.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [{ UUID: 'm-1', State: 'Enabled' }] });
    lambda.on(UpdateEventSourceMappingCommand).rejects(awsError('AccessDeniedException', 403, 'not authorized to perform: lambda:UpdateEventSourceMapping'));

    // Act
    const stop = await stopOwnMapping(streamEvent(put('a', '1')), context);

    // Assess
    expect(stop).toEqual({ disabled: [], error: 'AccessDeniedException: not authorized to perform: lambda:UpdateEventSourceMapping' });
  });
});
