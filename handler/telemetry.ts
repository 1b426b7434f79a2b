import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One structured log line: a level, a message, and the fields that say what happened. */
export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly [field: string]: unknown;
}

export type MetricUnit = 'Milliseconds' | 'Seconds' | 'Count';

/** Metrics counted now, sharing their dimensions: `Replicator`, and `Slave` when the point is about one slave. */
export interface MetricPoint {
  readonly slave?: string;
  readonly values: Readonly<Record<string, { readonly value: number; readonly unit: MetricUnit }>>;
}

/** Where the handler's log lines and metrics go. */
export interface Telemetry {
  log(entry: LogEntry): void;
  metrics(point: MetricPoint): void;
}

export interface TelemetrySettings {
  /** The CloudWatch namespace of the metrics. */
  readonly namespace: string;
  /** The replicator's name: the logs' `service` and the metrics' `Replicator` dimension. */
  readonly replicatorName: string;
}

/**
 * Logs and metrics through Powertools for AWS Lambda, in the conventions Lambda users already configure: JSON lines
 * with `level`, `message`, `timestamp` and `service`, their level from `POWERTOOLS_LOG_LEVEL` (or Lambda's
 * `AWS_LAMBDA_LOG_LEVEL`), and one Embedded Metric Format document per point, which `POWERTOOLS_METRICS_DISABLED`
 * turns off. Both write to standard output without Lambda's `console` prefix, which CloudWatch needs to read EMF.
 */
export function powertoolsTelemetry(settings: TelemetrySettings): Telemetry {
  const logger = new Logger({ serviceName: settings.replicatorName });
  const metrics = new Metrics({ namespace: settings.namespace, serviceName: settings.replicatorName });
  // Powertools adds a `service` dimension by default; the alarms and the dashboard select Replicator and Slave only.
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ Replicator: settings.replicatorName });
  return {
    log({ level, message, ...fields }) {
      logger[level](message, fields);
    },
    metrics({ slave, values }) {
      if (slave !== undefined) metrics.addDimension('Slave', slave);
      for (const [name, { value, unit }] of Object.entries(values)) metrics.addMetric(name, unit, value);
      metrics.publishStoredMetrics();
    },
  };
}
