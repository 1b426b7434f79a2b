// Builds what the package ships: the Lambda bundle (committed, so `terraform apply` needs no Node.js), the library
// in CommonJS and ESM, the command-line tool, and the type declarations.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'eof',
};

// Bundled SDK packages are CommonJS; in an ES module they need a `require` to load Node's built-ins.
const requireShim = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

rmSync('dist/lib', { recursive: true, force: true });
rmSync('dist/cli', { recursive: true, force: true });
rmSync('dist/types', { recursive: true, force: true });

await Promise.all([
  build({
    ...common,
    entryPoints: ['handler/lambda.ts'],
    outfile: 'dist/lambda/index.mjs',
    format: 'esm',
    minify: true,
    keepNames: true,
    mainFields: ['module', 'main'],
    banner: { js: requireShim },
  }),
  build({ ...common, entryPoints: ['handler/index.ts'], outfile: 'dist/lib/index.mjs', format: 'esm', packages: 'external' }),
  build({
    ...common,
    entryPoints: ['handler/index.ts'],
    outfile: 'dist/lib/index.cjs',
    format: 'cjs',
    packages: 'external',
    // `require('dynamo-replicator')` is the factory itself, as in the original package, and carries the named exports.
    footer: { js: 'module.exports = Object.assign(module.exports.default, module.exports);' },
  }),
  existsSync('handler/cli/main.ts')
    ? build({ ...common, entryPoints: ['handler/cli/main.ts'], outfile: 'dist/cli/index.cjs', format: 'cjs', packages: 'external', banner: { js: '#!/usr/bin/env node' } })
    : Promise.resolve(),
]);

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
