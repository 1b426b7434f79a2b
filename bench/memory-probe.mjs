// Peak memory of the committed bundle replicating one large batch, next to the memory the Lambda runtime needs just
// to hold that batch's parsed event. Run by bench/run.ts in a process of its own: node --expose-gc bench/memory-probe.mjs
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const mb = (bytes) => bytes / 1024 / 1024;
process.env.REPLICATOR_SLAVES = JSON.stringify({ probe: { region: 'eu-west-1', table_name: process.env.PROBE_TABLE, endpoint: process.env.PROBE_ENDPOINT } });
// The state table is in the same engine: the bundle reads the slaves' states from it once per batch.
process.env.REPLICATOR_STATE_TABLE = process.env.PROBE_STATE_TABLE;
process.env.AWS_ENDPOINT_URL_DYNAMODB = process.env.PROBE_ENDPOINT;

const { handler } = await import(pathToFileURL(resolve('dist/lambda/index.mjs')).href);
globalThis.gc();
const loadedRss = process.memoryUsage().rss;

const json = readFileSync(process.env.PROBE_EVENT_FILE, 'utf8');
const event = JSON.parse(json);
globalThis.gc();
const eventOnlyRss = process.memoryUsage().rss;

let peak = eventOnlyRss;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 2);
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true;
const response = await handler(event, { getRemainingTimeInMillis: () => 300_000 });
process.stdout.write = write;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
if (response.batchItemFailures.length > 0) throw new Error('the replicator reported a failure in the memory probe');

console.log(
  JSON.stringify({
    records: event.Records.length,
    eventJsonMb: mb(json.length),
    loadedRssMb: mb(loadedRss),
    eventOnlyRssMb: mb(eventOnlyRss),
    peakRssMb: mb(peak),
  }),
);
