// CI's dependency audit (`.ci/run`): `npm audit --omit=dev`, judged by scripts/audit-verdict.ts. Exit 1 only for
// advisories in production dependencies; a registry that cannot answer is a printed skip.
import { spawnSync } from 'node:child_process';
import { auditVerdict } from './audit-verdict.ts';

const r = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
const verdict =
  r.error === undefined
    ? auditVerdict(r.stdout)
    : { result: 'skip' as const, line: `npm audit skipped: ${r.error.message}` };
process.stdout.write(`ci: ${verdict.line}\n`);
process.exit(verdict.result === 'fail' ? 1 : 0);
