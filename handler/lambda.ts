import { loadConfig } from './config';
import { writeJsonLine } from './metrics';
import { Replicator } from './replicator';
import type { InvocationContext, StreamBatchResponse } from './types';

/**
 * The configuration is read once, when the function loads. When it is wrong, every invocation fails with the same
 * message, so the event source mapping consumes nothing until it is fixed.
 */
const loaded = ((): { replicator: Replicator } | { error: Error } => {
  try {
    return { replicator: new Replicator({ config: loadConfig(process.env) }) };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    writeJsonLine({ level: 'error', message: 'configuration rejected; every invocation will fail until it is fixed', error: failure.message });
    return { error: failure };
  }
})();

/** The Lambda entry point for a DynamoDB stream event source mapping with `ReportBatchItemFailures`. */
export async function handler(event: unknown, context: InvocationContext): Promise<StreamBatchResponse> {
  if ('error' in loaded) throw loaded.error;
  const { batchItemFailures } = await loaded.replicator.process(event, context);
  return { batchItemFailures };
}
