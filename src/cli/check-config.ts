import { stringify } from 'yaml';
import { loadConfigFile } from '../config/load.ts';
import { maskSecrets } from '../config/mask.ts';
import type { Command } from './command.ts';
import { UsageError, parseFlags } from './args.ts';

export const command: Command = {
  name: 'check-config',
  summary: 'validate a config file and print it resolved, with defaults and secrets masked',
  help: `Usage: spillway check-config FILE

Validates FILE (YAML, \${ENV} interpolated) against the schema. On success prints the resolved config with every
default filled in and secrets masked, and exits 0. On failure prints each problem with its key path, line, value
and what was expected, and exits 1.`,
  async run(argv) {
    const { positionals } = parseFlags(argv, {}, true);
    const file = positionals[0];
    if (file === undefined || positionals.length > 1) throw new UsageError('expects exactly one FILE');
    const config = loadConfigFile(file);
    process.stdout.write(`# ${file}: valid\n${stringify(maskSecrets(config.raw))}`);
    return 0;
  },
};
