#!/usr/bin/env node
/**
 * The `mcptt-sdk` command line: operator and interop tools around the SDK.
 *   mcptt-sdk vectors [file.json|dir ...]   conformance runner over vector files
 *   mcptt-sdk mikey inspect|create …        decode or build MIKEY-SAKKE I_MESSAGEs
 * Output goes to stdout only on request; nothing secret is printed unless it is the input.
 */
import { mikeyCommand, MIKEY_USAGE } from './mikey.js';
import { readKnownDefects, runVectors, vectorFiles } from './vectors.js';

const USAGE = `usage:
  mcptt-sdk vectors [file.json|dir ...] [--known-defects list.json]
                                           check vector files (default: ../shared/vectors)
${MIKEY_USAGE}`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const print = (line: string): void => {
    process.stdout.write(line + '\n');
  };
  switch (command) {
    case 'vectors': {
      const at = rest.indexOf('--known-defects');
      const defects = at >= 0 ? readKnownDefects(rest[at + 1] ?? '') : [];
      const paths = at >= 0 ? [...rest.slice(0, at), ...rest.slice(at + 2)] : rest;
      const { passed, failed, known } = await runVectors(vectorFiles(paths, process.cwd()), print, defects);
      if (known > 0) print(`${known} known data defect(s), listed above with their reasons`);
      print(`${passed} passed, ${failed} failed`);
      return failed === 0 && passed > 0 ? 0 : 1;
    }
    case 'mikey':
      return mikeyCommand(rest, print);
    default:
      process.stderr.write(USAGE + '\n');
      return command === undefined || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mcptt-sdk: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
