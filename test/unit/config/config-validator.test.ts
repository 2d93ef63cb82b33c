import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_VALIDATOR_FILE, configValidatorSource } from '../../../src/config/config-validator-source.ts';

test('the checked-in config validator is the one ajv generates from the current schema', () => {
  const checkedIn = readFileSync(CONFIG_VALIDATOR_FILE, 'utf8');
  assert.ok(
    checkedIn === configValidatorSource(),
    'src/config/config-validator.generated.js is stale: run `npm run gen:config-validator` and commit the result',
  );
});
