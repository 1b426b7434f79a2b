// `npm run test:package`, the 'package' layer of `npm test`: the package as a user gets it. A copy of the working
// tree without its build output (what a fresh clone holds) is packed with `npm pack`; the tarball is installed into an
// empty project, where the library is required, imported and type-checked and the command-line tool is run. The same
// copy is then installed as a git dependency, which works only if the `prepare` script builds what the package ships.
// Dependencies come from the npm cache when it has them (--prefer-offline).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = join(repo, 'node_modules/.bin/tsc');
const npmInstall = ['install', '--prefer-offline', '--no-audit', '--no-fund'];
// A TypeScript user on Node.js has Node's types; the same major as this repository's.
const nodeTypes = `@types/node@${JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies['@types/node']}`;

// What `npm run` adds to the environment describes this repository's project, and NODE_PATH would let a missing
// dependency resolve: a user's project has neither.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$|NODE_PATH$)/.test(name)),
);
env.PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((entry) => !entry.endsWith(join('node_modules', '.bin')))
  .join(delimiter);

/** Runs a command to completion and returns its standard output; throws with everything it printed if it fails. */
function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  if (result.status !== 0) {
    const how = result.error?.message ?? (result.signal === null ? `exit code ${result.status}` : `signal ${result.signal}`);
    throw new Error(`\`${[command, ...args].join(' ')}\` in ${cwd} failed (${how}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

async function step(name, action) {
  const started = Date.now();
  try {
    await action();
  } catch (error) {
    console.error(`FAILED  ${name}\n${error instanceof Error ? error.message : String(error)}`);
    throw new Error(name, { cause: error });
  }
  console.log(`ok  ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** A checkout of the working tree as git would give it: tracked and untracked files, nothing git ignores. */
function copyWorkingTree(target) {
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], repo).split('\0');
  for (const file of files) {
    // A tracked file deleted in the working tree is listed but gone.
    if (file === '' || !existsSync(join(repo, file)) || statSync(join(repo, file)).isDirectory()) continue;
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(repo, file), join(target, file));
  }
  const git = ['-c', 'user.name=package test', '-c', 'user.email=package-test@localhost', '-c', 'commit.gpgsign=false'];
  run('git', ['init', '--quiet'], target);
  run('git', ['add', '--all'], target);
  run('git', [...git, 'commit', '--quiet', '--no-verify', '--message', 'working tree'], target);
  for (const built of ['dist/lib', 'dist/cli', 'dist/types']) assert.ok(!existsSync(join(target, built)), `${built} was copied`);
}

function emptyProject(directory) {
  mkdirSync(directory);
  writeFileSync(join(directory, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2)}\n`);
}

// The original package's API, as README.md shows it.
const requireCheck = `
const assert = require('node:assert/strict');
const { resolve } = require('node:path');
const createReplicator = require('dynamo-replicator');

assert.equal(require.resolve('dynamo-replicator'), resolve('node_modules/dynamo-replicator/dist/lib/index.cjs'));
assert.equal(typeof createReplicator, 'function', "require('dynamo-replicator') is the factory");
assert.equal(createReplicator.default, createReplicator, 'the default export the .d.cts declares is the factory');
for (const name of ['createLegacyReplicator', 'Replicator', 'loadConfig', 'writeToSlave', 'createClientProvider', 'ConfigurationError', 'InvalidEventError']) {
  assert.equal(typeof createReplicator[name], 'function', name);
}
assert.throws(() => createReplicator({ region: 'nowhere', table: 'orders' }), createReplicator.ConfigurationError);

const processing = createReplicator({ region: 'eu-west-1', table: 'orders' }).process({ Records: 'not a list' });
assert.ok(processing instanceof Promise, 'process(event) returns a Promise');
processing.then(
  () => assert.fail('process(event) resolved for an event that is not a stream batch'),
  (error) => assert.ok(error instanceof createReplicator.InvalidEventError, String(error)),
).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const importCheck = `
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import createReplicator, { ConfigurationError, InvalidEventError, Replicator, createLegacyReplicator } from 'dynamo-replicator';

assert.equal(import.meta.resolve('dynamo-replicator'), pathToFileURL(resolve('node_modules/dynamo-replicator/dist/lib/index.mjs')).href);
assert.equal(createReplicator, createLegacyReplicator);
assert.equal(typeof Replicator, 'function');
assert.throws(() => createReplicator({ region: 'nowhere', table: 'orders' }), ConfigurationError);
await assert.rejects(createReplicator({ region: 'eu-west-1', table: 'orders' }).process({ Records: 'not a list' }), InvalidEventError);
`;

// The same source as an ES module (types from the \`import\` condition) and as CommonJS (the \`require\` condition).
// Each @ts-expect-error fails the check if the types it tests came out as \`any\`.
const typesCheck = `
import createReplicator, { ConfigurationError, Replicator, type LegacyReplicator, type ReplicationResult } from 'dynamo-replicator';

const replicator: LegacyReplicator = createReplicator({ region: 'eu-west-1', table: 'orders' });
export const processing: Promise<ReplicationResult> = replicator.process({ Records: [] });
// @ts-expect-error process(event) returns a Promise, not the result
export const notAwaited: ReplicationResult = replicator.process({ Records: [] });
// @ts-expect-error the table is required
createReplicator({ region: 'eu-west-1' });
export const exported = [ConfigurationError, Replicator];
`;

const tsconfig = {
  compilerOptions: {
    // node16, not nodenext: it cannot require an ES module, so the CommonJS file must get CommonJS declarations.
    module: 'node16',
    moduleResolution: 'node16',
    target: 'es2022',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
  },
  files: ['types.mts', 'types.cts'],
};

function checkInstalled(project) {
  writeFileSync(join(project, 'require.cjs'), requireCheck);
  run('node', ['require.cjs'], project);
  writeFileSync(join(project, 'import.mjs'), importCheck);
  run('node', ['import.mjs'], project);

  writeFileSync(join(project, 'types.mts'), typesCheck);
  writeFileSync(join(project, 'types.cts'), typesCheck);
  writeFileSync(join(project, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  run(tsc, ['--project', 'tsconfig.json'], project);
  const read = run(tsc, ['--project', 'tsconfig.json', '--listFilesOnly'], project).split('\n');
  for (const declarations of ['index.d.ts', 'index.d.cts']) {
    const path = join(project, 'node_modules/dynamo-replicator/dist/types', declarations);
    assert.ok(read.includes(path), `tsc did not read ${path}`);
  }

  // --yes=false: never install a package of that name from the registry; run the one installed here.
  const help = run('npx', ['--yes=false', 'dynamo-replicator', '--help'], project);
  for (const command of ['backfill', 'verify']) assert.match(help, new RegExp(`^\\s+${command} \\[options\\]`, 'm'), `--help lists ${command}:\n${help}`);
}

const work = mkdtempSync(join(tmpdir(), 'dynamo-replicator-package-'));
try {
  const source = join(work, 'source');
  let tarball = '';
  await step('copy of the working tree, without build output', () => copyWorkingTree(source));
  await step('npm pack', () => {
    // The build needs the devDependencies; a fresh clone would have them from `npm ci`. To git the link is a file,
    // which the `node_modules/` of .gitignore does not match.
    symlinkSync(join(repo, 'node_modules'), join(source, 'node_modules'), 'dir');
    appendFileSync(join(source, '.git/info/exclude'), '/node_modules\n');
    run('npm', ['pack', '--pack-destination', work], source);
    const changed = run('git', ['status', '--porcelain'], source);
    assert.equal(changed, '', `prepare changed or added files that git does not ignore (only build output may be written):\n${changed}`);
    const packed = readdirSync(work).filter((name) => name.endsWith('.tgz'));
    assert.equal(packed.length, 1, `npm pack wrote ${packed.join(', ') || 'nothing'}`);
    tarball = join(work, packed[0] ?? '');
  });

  const fromTarball = join(work, 'from-tarball');
  await step('npm install <tarball> into an empty project', () => {
    emptyProject(fromTarball);
    run('npm', [...npmInstall, tarball, nodeTypes], fromTarball);
  });
  await step("require, import, tsc and 'npx dynamo-replicator --help' in that project", () => checkInstalled(fromTarball));

  const fromGit = join(work, 'from-git');
  await step('npm install git+file://<copy> into an empty project (prepare builds it)', () => {
    emptyProject(fromGit);
    run('npm', [...npmInstall, `git+file://${source}`, nodeTypes], fromGit);
  });
  await step("require, import, tsc and 'npx dynamo-replicator --help' in that project", () => checkInstalled(fromGit));
} catch {
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
