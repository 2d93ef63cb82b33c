// Prints docs/configuration.md rows for the config keys under a prefix: `node scripts/config-rows.ts cache`.
import { describeSchema } from '../src/config/describe-schema.ts';
import { configSchema } from '../src/config/schema.ts';

const prefix = process.argv[2] ?? '';
for (const k of describeSchema(configSchema)) {
  if (prefix !== '' && k.path !== prefix && !k.path.startsWith(`${prefix}.`) && !k.path.startsWith(`${prefix}[`))
    continue;
  process.stdout.write(
    `| \`${k.path}\` | ${k.type} | ${k.default === '—' ? '—' : `\`${k.default}\``} | ${k.description} |\n`,
  );
}
