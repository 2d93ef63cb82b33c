/** `npm run gen:config-validator`: rewrites src/config/config-validator.generated.js from the config schema. */
import { writeFileSync } from 'node:fs';
import { CONFIG_VALIDATOR_FILE, configValidatorSource } from '../src/config/config-validator-source.ts';

writeFileSync(CONFIG_VALIDATOR_FILE, configValidatorSource());
console.log(`wrote ${CONFIG_VALIDATOR_FILE.pathname}`);
