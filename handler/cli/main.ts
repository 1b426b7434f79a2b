import { EXIT, runCli } from './program';

// The first Ctrl-C lets every worker finish and checkpoint its page; a second one leaves at once (the checkpoints on
// disk are whole either way, so a rerun still resumes).
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
  process.stderr.write('\nstopping after the pages in flight (Ctrl-C again to stop now)\n');
  interrupt.abort();
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: interrupt.signal }).then((code) => {
  process.exitCode = code;
});
