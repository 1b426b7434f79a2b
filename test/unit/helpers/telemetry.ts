import { powertoolsTelemetry, type Telemetry, type TelemetrySettings } from '../../../handler/telemetry';

/**
 * The telemetry the function runs with (Powertools Logger and Metrics), with every line it writes parsed and kept, in
 * order: the tests read exactly what CloudWatch Logs would. Powertools writes warnings and errors to standard error,
 * the rest to standard output; Lambda sends both to the log group.
 */
export function recordedTelemetry(settings: TelemetrySettings): { telemetry: Telemetry; logged: Record<string, unknown>[] } {
  const logged: Record<string, unknown>[] = [];
  const real = powertoolsTelemetry(settings);
  const capture = (write: () => void): void => {
    const streams = [process.stdout, process.stderr];
    const originals = streams.map((stream) => stream.write.bind(stream));
    let output = '';
    for (const stream of streams) {
      stream.write = ((chunk: string | Uint8Array) => {
        output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        return true;
      });
    }
    try {
      write();
    } finally {
      streams.forEach((stream, i) => (stream.write = originals[i] as typeof stream.write));
    }
    for (const line of output.split('\n')) if (line !== '') logged.push(JSON.parse(line) as Record<string, unknown>);
  };
  return {
    telemetry: { log: (entry) => capture(() => real.log(entry)), metrics: (point) => capture(() => real.metrics(point)) },
    logged,
  };
}
