import { LambdaClient, ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { describeError } from './errors';
import { boundedRequestHandler } from './request-handler';
import type { InvocationContext } from './types';

/** What became of the attempt to stop the mapping that invoked a function with a configuration it rejects. */
export interface MappingStop {
  /** UUIDs of the mappings disabled. */
  readonly disabled: readonly string[];
  /** Why none could be disabled, if so. */
  readonly error?: string;
}

/**
 * Disables the event source mapping that delivered `event` to this function, so that a configuration the function
 * rejects consumes no record: Lambda stops polling, the records stay in the stream (24 hours), and re-enabling the
 * mapping (the next `terraform apply` does) resumes from where it stopped. Without this, every retry of the batch
 * would fail the same way, and a mapping with a retry limit would skip it.
 */
export async function stopOwnMapping(event: unknown, context: InvocationContext | undefined, client: LambdaClient = new LambdaClient({ requestHandler: boundedRequestHandler() })): Promise<MappingStop> {
  const functionName = context?.invokedFunctionArn ?? context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
  const streamArn = eventSourceArnOf(event);
  if (functionName === undefined || streamArn === undefined) return { disabled: [], error: 'the invocation names no function or stream to find the mapping by' };
  const disabled: string[] = [];
  try {
    let marker: string | undefined;
    do {
      const page = await client.send(new ListEventSourceMappingsCommand({ FunctionName: functionName, EventSourceArn: streamArn, ...(marker === undefined ? {} : { Marker: marker }) }));
      for (const mapping of page.EventSourceMappings ?? []) {
        if (mapping.UUID === undefined || mapping.State === 'Disabled' || mapping.State === 'Disabling') continue;
        await client.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: false }));
        disabled.push(mapping.UUID);
      }
      marker = page.NextMarker;
    } while (marker !== undefined);
    return { disabled };
  } catch (error) {
    return { disabled, error: describeError(error) };
  }
}

function eventSourceArnOf(event: unknown): string | undefined {
  const records = typeof event === 'object' && event !== null ? (event as { Records?: unknown }).Records : undefined;
  const first: unknown = Array.isArray(records) ? records[0] : undefined;
  const arn = typeof first === 'object' && first !== null ? (first as { eventSourceARN?: unknown }).eventSourceARN : undefined;
  return typeof arn === 'string' ? arn : undefined;
}
