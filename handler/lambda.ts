import { createClientProvider } from './clients';
import { DEFAULTS, loadConfig } from './config';
import { copySegment as runCopySegment, type CopySegmentResult } from './copy-segment';
import { drainSlaves } from './drain';
import { ConfigurationError } from './errors';
import { stopOwnMapping } from './mapping-guard';
import { invocationMetrics } from './metrics';
import { Replicator } from './replicator';
import { powertoolsTelemetry, type Telemetry } from './telemetry';
import type { InvocationContext, ReplicatorConfig, StreamBatchResponse } from './types';

const clients = createClientProvider();

/**
 * The configuration is read once, when the function loads; the three entry points share it, the clients and the
 * telemetry. A configuration it rejects still gets telemetry, named from the variables that can be read.
 */
const loaded = ((): { config: ReplicatorConfig; replicator: Replicator; telemetry: Telemetry } | { error: Error; telemetry: Telemetry } => {
  try {
    const config = loadConfig(process.env);
    const telemetry = powertoolsTelemetry({ namespace: config.metricsNamespace, replicatorName: config.replicatorName });
    return { config, telemetry, replicator: new Replicator({ config, clients, telemetry }) };
  } catch (error) {
    const telemetry = powertoolsTelemetry({
      namespace: process.env.REPLICATOR_METRICS_NAMESPACE ?? DEFAULTS.metricsNamespace,
      replicatorName: process.env.REPLICATOR_NAME ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? DEFAULTS.replicatorName,
    });
    return { error: error instanceof Error ? error : new Error(String(error)), telemetry };
  }
})();

/**
 * The Lambda entry point for a DynamoDB stream event source mapping with `ReportBatchItemFailures`. A configuration
 * it rejects (at load, or on the first batch, such as a slave that is the master itself) disables the mapping that
 * invoked it before the invocation fails, so that no record is consumed until the configuration is fixed.
 */
export async function handler(event: unknown, context: InvocationContext): Promise<StreamBatchResponse> {
  try {
    if ('error' in loaded) throw loaded.error;
    const { batchItemFailures } = await loaded.replicator.process(event, context);
    return { batchItemFailures };
  } catch (error) {
    if (error instanceof ConfigurationError) await refuse(error, event, context);
    throw error;
  }
}

/** The scheduled drain: applies the slaves' parked changes and resolves with `{ pending: { <slave>: <left> } }`. */
export async function drain(_event: unknown, context: InvocationContext): Promise<{ pending: Record<string, number> }> {
  if ('error' in loaded) {
    loaded.telemetry.log({ level: 'error', message: 'configuration rejected; nothing drained', error: loaded.error.message });
    throw loaded.error;
  }
  const { pending } = await drainSlaves({ config: loaded.config, clients, telemetry: loaded.telemetry }, context.getRemainingTimeInMillis());
  return { pending };
}

/** One parallel-scan segment of a new slave's initial copy, as one iteration of the copy state machine runs it. */
export async function copySegment(event: unknown, context: InvocationContext): Promise<CopySegmentResult> {
  if ('error' in loaded) {
    loaded.telemetry.log({ level: 'error', message: 'configuration rejected; nothing copied', error: loaded.error.message });
    throw loaded.error;
  }
  return runCopySegment(event, { config: loaded.config, clients, telemetry: loaded.telemetry }, context.getRemainingTimeInMillis());
}

async function refuse(error: ConfigurationError, event: unknown, context: InvocationContext): Promise<void> {
  const stop = await stopOwnMapping(event, context);
  loaded.telemetry.log({
    level: 'error',
    message:
      stop.disabled.length > 0
        ? `configuration rejected; event source mapping ${stop.disabled.join(', ')} disabled so that no record is consumed: fix the configuration, then re-enable the mapping (terraform apply does)`
        : `configuration rejected; the event source mapping could not be disabled (${stop.error ?? 'none found'}): every invocation fails until the configuration is fixed`,
    error: error.message,
    disabledMappings: stop.disabled,
  });
  loaded.telemetry.metrics(invocationMetrics({ ConfigurationErrors: 1 }));
}
