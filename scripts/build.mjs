// Builds what the package ships: the Lambda bundle (committed, so `terraform apply` needs no Node.js), the library
// in CommonJS and ESM, the command-line tool, and the type declarations.
//
// `--no-lambda` builds all but the bundle: the `prepare` script, which npm runs for `npm pack`, `npm publish`, a git
// install and `npm install` in this repository. The package ships the committed bundle; rebuilding it there would
// overwrite a stale one on a fresh clone and hide it from the bundle freshness check of `npm test`.
import { build } from 'esbuild';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { writeLambdaPackage } from './lambda-package.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'eof',
};

// Bundled SDK packages are CommonJS; in an ES module they need a `require` to load Node's built-ins.
const requireShim = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

const withLambda = !process.argv.slice(2).includes('--no-lambda');

rmSync('dist/lib', { recursive: true, force: true });
rmSync('dist/cli', { recursive: true, force: true });
rmSync('dist/types', { recursive: true, force: true });

await Promise.all([
  withLambda
    ? build({
        ...common,
        entryPoints: ['handler/lambda.ts'],
        outfile: 'dist/lambda/index.mjs',
        format: 'esm',
        minify: true,
        keepNames: true,
        mainFields: ['module', 'main'],
        banner: { js: requireShim },
        // The module deploys the zip of the bundle; both are committed.
      }).then(() => writeLambdaPackage('dist/lambda/index.mjs', 'dist/lambda/function.zip'))
    : Promise.resolve(),
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

emitDeclarations('tsconfig.build.json');

/**
 * Type-checks the library and writes its declarations twice: `.d.ts` for `import` (ES modules, the package's `type`)
 * and `.d.cts` for `require`, so each condition of `exports` has types in the format of the file it loads. The sources
 * import `./config` (bundler resolution); under `moduleResolution: node16` or `nodenext` a declaration must name the
 * file, `./config.js` or `./config.cjs`, or the consumer's compiler cannot find it.
 */
function emitDeclarations(configPath) {
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
  });
  const { options } = config;
  const program = ts.createProgram({ rootNames: config.fileNames, options, configFileParsingDiagnostics: config.errors });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) fail(diagnostics);
  const emitted = program.emit(undefined, (fileName, text) => {
    const source = join(options.rootDir, relative(options.outDir, fileName)).replace(/\.d\.ts$/, '.ts');
    mkdirSync(dirname(fileName), { recursive: true });
    writeFileSync(fileName, withExtensions(text, source, options, '.js'));
    writeFileSync(fileName.replace(/\.d\.ts$/, '.d.cts'), withExtensions(text, source, options, '.cjs'));
  }, undefined, true);
  if (emitted.diagnostics.length > 0 || emitted.emitSkipped) fail(emitted.diagnostics);
}

/** `text` (the declarations of `source`) with each relative specifier naming its file, with `extension`. */
function withExtensions(text, source, options, extension) {
  let result = '';
  let copied = 0;
  const specifiers = ts.preProcessFile(text, true, false).importedFiles.sort((a, b) => a.pos - b.pos);
  for (const { fileName: specifier, pos } of specifiers) {
    if (!specifier.startsWith('.')) continue;
    const resolved = ts.resolveModuleName(specifier, source, options, ts.sys).resolvedModule?.resolvedFileName;
    if (resolved === undefined || !resolved.endsWith('.ts') || resolved.endsWith('.d.ts')) {
      throw new Error(`${source}: "${specifier}" does not resolve to a TypeScript source of the library`);
    }
    const path = relative(dirname(source), resolved).replace(/\.ts$/, extension);
    // `pos` is the opening quote's.
    result += text.slice(copied, pos + 1) + (path.startsWith('../') ? path : `./${path}`);
    copied = pos + 1 + specifier.length;
  }
  return result + text.slice(copied);
}

function fail(diagnostics) {
  const host = { getCanonicalFileName: (name) => name, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => ts.sys.newLine };
  process.stderr.write((process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics)(diagnostics, host));
  process.exit(1);
}
