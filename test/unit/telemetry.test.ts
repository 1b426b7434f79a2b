import { afterEach, describe, expect, it } from 'vitest';
import { drainMetrics, invocationMetrics, slaveMetrics } from '../../handler/metrics';
import { recordedTelemetry } from './helpers/telemetry';

const SETTINGS = { namespace: 'Team/Replication', replicatorName: 'orders-replicator' };
const savedEnv = { ...process.env };

const report = { mode: 'live', written: 3, retries: 1, parked: 0, failed: 0, oldestChangeLagMs: 120, errors: [] } as const;

describe('Function: powertoolsTelemetry', () => {
  afterEach(() => {
    process.env = { ...savedEnv };
  });

  it('writes a log line in the Powertools format: upper-case level, message, timestamp, service, then the fields', () => {
    // Prepare
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.log({ level: 'warn', message: 'batch replicated; some changes parked', records: 2, slaves: { eu: { mode: 'parked', oldestChangeLagMs: null } } });

    // Assess
    expect(logged).toEqual([
      {
        level: 'WARN',
        message: 'batch replicated; some changes parked',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
        service: 'orders-replicator',
        sampling_rate: 0,
        records: 2,
        slaves: { eu: { mode: 'parked', oldestChangeLagMs: null } },
      },
    ]);
  });

  it('writes one EMF document per slave with the Replicator and Slave dimensions only, and no service dimension', () => {
    // Prepare
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.metrics(slaveMetrics('eu', report));

    // Assess
    expect(logged).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number) as unknown,
          CloudWatchMetrics: [
            {
              Namespace: 'Team/Replication',
              Dimensions: [['Replicator', 'Slave']],
              Metrics: [
                { Name: 'ReplicationLatency', Unit: 'Milliseconds' },
                { Name: 'RecordsReplicated', Unit: 'Count' },
                { Name: 'WriteRetries', Unit: 'Count' },
                { Name: 'ParkedRecords', Unit: 'Count' },
                { Name: 'FailedRecords', Unit: 'Count' },
              ],
            },
          ],
        },
        Replicator: 'orders-replicator',
        Slave: 'eu',
        ReplicationLatency: 120,
        RecordsReplicated: 3,
        WriteRetries: 1,
        ParkedRecords: 0,
        FailedRecords: 0,
      },
    ]);
  });

  it("does not carry one slave's dimension into the next document: each point has its own dimensions", () => {
    // Prepare
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.metrics(drainMetrics('eu', { mode: 'parked', drained: 4, pending: 1, oldestParkedAgeSeconds: 30, errors: [] }));
    telemetry.metrics(drainMetrics('us', { mode: 'live', drained: 0, pending: 0, oldestParkedAgeSeconds: 0, errors: [] }));
    telemetry.metrics(invocationMetrics({ RejectedRecords: 2 }));

    // Assess
    expect(logged.map((document) => [document.Slave, (document._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions])).toEqual([
      ['eu', [['Replicator', 'Slave']]],
      ['us', [['Replicator', 'Slave']]],
      [undefined, [['Replicator']]],
    ]);
    expect(logged[2]).toMatchObject({ Replicator: 'orders-replicator', RejectedRecords: 2 });
  });

  it('honours POWERTOOLS_LOG_LEVEL: below it nothing is logged, and the metrics are still written', () => {
    // Prepare
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.log({ level: 'info', message: 'batch replicated' });
    telemetry.log({ level: 'warn', message: 'batch replicated; some changes parked' });
    telemetry.log({ level: 'error', message: 'batch partly replicated; re-delivery requested' });
    telemetry.metrics(invocationMetrics({ ConfigurationErrors: 1 }));

    // Assess
    expect(logged.map((line) => line.message ?? Object.keys(line).filter((key) => key !== '_aws'))).toEqual([
      'batch partly replicated; re-delivery requested',
      ['Replicator', 'ConfigurationErrors'],
    ]);
  });

  it("honours Lambda's own AWS_LAMBDA_LOG_LEVEL (advanced logging controls) when POWERTOOLS_LOG_LEVEL is not set", () => {
    // Prepare
    delete process.env.POWERTOOLS_LOG_LEVEL;
    process.env.AWS_LAMBDA_LOG_LEVEL = 'WARN';
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.log({ level: 'info', message: 'batch replicated' });
    telemetry.log({ level: 'warn', message: 'batch replicated; some changes parked' });

    // Assess
    expect(logged.map((line) => line.message)).toEqual(['batch replicated; some changes parked']);
  });

  it('honours POWERTOOLS_LOGGER_SAMPLE_RATE: a sampled execution environment logs every level, whatever POWERTOOLS_LOG_LEVEL says', () => {
    // Prepare
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    process.env.POWERTOOLS_LOGGER_SAMPLE_RATE = '1';
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.log({ level: 'info', message: 'batch replicated' });

    // Assess
    expect(logged.map((line) => line.message)).toEqual(['batch replicated']);
  });

  it('writes no metrics with POWERTOOLS_METRICS_DISABLED, and still logs', () => {
    // Prepare
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const { telemetry, logged } = recordedTelemetry(SETTINGS);

    // Act
    telemetry.metrics(slaveMetrics('eu', report));
    telemetry.log({ level: 'info', message: 'batch replicated' });

    // Assess
    expect(logged.map((line) => line.message)).toEqual(['batch replicated']);
  });
});
