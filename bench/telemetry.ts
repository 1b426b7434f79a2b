/**
 * What the logs and metrics cost: client CPU per 1,000 records of the bundle with Powertools Logger and Metrics
 * writing (the default), against the same bundle with both off (`POWERTOOLS_LOG_LEVEL=SILENT`,
 * `POWERTOOLS_METRICS_DISABLED=true`), at a batch size Lambda's defaults give and at a live-rate one, where the fixed
 * per-invocation cost of one log line and one metrics document per slave weighs most. Each round measures the
 * bundle without telemetry before and after the one with it, and takes their mean as its baseline: the lower of two
 * noisy runs against a single one would favour the baseline.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { loadWarmBundle, replicate } from './bundle';
import { dropTable, freshStateTable, freshTable } from './engine';
import { betweenBaselines } from './report';
import { batchesOf, syntheticRecords } from './synthetic';

export interface TelemetryCost {
  readonly batchSize: number;
  /** Median client CPU milliseconds per 1,000 records with logs and metrics written. */
  readonly withTelemetryMs: number;
  /** Median of the rounds' baselines: the same, with logs and metrics off. */
  readonly withoutTelemetryMs: number;
  /** Median of the rounds' ratios, each against its own round's baseline. */
  readonly ratio: number;
}

const TELEMETRY_OFF = { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' };

function telemetryOn(): void {
  delete process.env.POWERTOOLS_LOG_LEVEL;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
}

/** Client CPU (user + system) per 1,000 records of one run of the bundle, loaded with telemetry on or off. */
async function cpuPerThousand(batches: readonly DynamoDBStreamEvent[], records: number, telemetry: boolean, slaveEngine: DynamoDbLocal, masterEngine: DynamoDbLocal): Promise<number> {
  const table = await freshTable(slaveEngine, 'telemetry');
  const stateTable = await freshStateTable(masterEngine);
  if (telemetry) telemetryOn();
  else Object.assign(process.env, TELEMETRY_OFF);
  try {
    const bundle = await loadWarmBundle({ slaves: { s0: { region: 'eu-west-1', table_name: table, endpoint: slaveEngine.endpoint } }, masterEngine, stateTable }, batches[0]?.Records.length ?? 1);
    const started = process.cpuUsage();
    await replicate(bundle, batches);
    const used = process.cpuUsage(started);
    return (used.user + used.system) / 1000 / (records / 1000);
  } finally {
    telemetryOn();
    await Promise.all([dropTable(slaveEngine, table), dropTable(masterEngine, stateTable)]);
  }
}

export async function telemetryScenario(records: number, batchSizes: readonly number[], rounds: number, slaveEngine: DynamoDbLocal, masterEngine: DynamoDbLocal): Promise<TelemetryCost[]> {
  const { records: stream } = syntheticRecords({ records, keys: records, deleteShare: 0.05, seed: 5 });
  const costs: TelemetryCost[] = [];
  for (const batchSize of batchSizes) {
    const batches = batchesOf(stream, batchSize);
    const paired = await betweenBaselines(
      rounds,
      () => cpuPerThousand(batches, records, false, slaveEngine, masterEngine),
      () => cpuPerThousand(batches, records, true, slaveEngine, masterEngine),
    );
    costs.push({ batchSize, withTelemetryMs: paired.measured, withoutTelemetryMs: paired.baseline, ratio: paired.ratio });
  }
  return costs;
}
