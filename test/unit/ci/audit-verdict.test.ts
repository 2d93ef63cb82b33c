import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditVerdict } from '../../../scripts/audit-verdict.ts';

const report = (vulnerabilities: Record<string, number>, entries: Record<string, unknown> = {}) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities: entries,
    metadata: {
      vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0, ...vulnerabilities },
      dependencies: { prod: 120, dev: 0, total: 120 },
    },
  });

test('npm audit: a registry that cannot answer is a skip, never a CI failure', () => {
  const refused = JSON.stringify({
    message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    statusCode: 405,
    error: { summary: '', detail: '' },
  });
  assert.deepEqual(auditVerdict(refused).result, 'skip');
  assert.match(
    auditVerdict(refused).line,
    /skipped: the registry did not answer the audit request \(405 Method Not Allowed/,
  );
  assert.equal(
    auditVerdict(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'getaddrinfo ENOTFOUND registry.npmjs.org' } }))
      .result,
    'skip',
  );
  assert.equal(auditVerdict('').result, 'skip');
});

test('npm audit: production advisories of moderate or worse fail and are named; low ones pass with a count', () => {
  assert.deepEqual(auditVerdict(report({})), {
    result: 'pass',
    line: 'npm audit: no moderate or worse advisory in production dependencies (120 packages)',
  });
  assert.equal(auditVerdict(report({ low: 2, total: 2 })).result, 'pass');
  assert.match(auditVerdict(report({ low: 2, total: 2 })).line, /; 2 low\/info$/);
  const bad = auditVerdict(
    report(
      { high: 1, total: 1 },
      {
        busboy: {
          severity: 'high',
          via: [{ title: 'ReDoS in header parsing', url: 'https://github.com/advisories/GHSA-x' }],
        },
      },
    ),
  );
  assert.equal(bad.result, 'fail');
  assert.match(
    bad.line,
    /1 moderate or worse advisories in production dependencies: busboy \(high: ReDoS in header parsing https:\/\/github\.com\/advisories\/GHSA-x\)/,
  );
});
