// The contract between the module and the handler: reads a function's planned environment (a JSON object of
// variables, as Lambda would set them) from the file named by the first argument, gives it to the handler's own
// loadConfig, and prints the configuration it accepted as JSON. A rejected variable or field makes it exit 1 with
// the handler's message. Run by test/terraform/contract_test.go.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../handler/config';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: tsx test/terraform/contract/load-config.ts <environment.json>\n');
  process.exit(2);
}
const env = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
try {
  process.stdout.write(JSON.stringify(loadConfig(env)));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
