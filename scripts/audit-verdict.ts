/**
 * What `npm audit --omit=dev --json` said, as one CI line: `pass`, `fail` (advisories of at least `moderate` in a
 * production dependency, the only ones the image ships) or `skip` (the registry has no audit endpoint or could not
 * be reached: a mirror, an offline machine; that is not the code's fault and must not turn CI red).
 */
export interface AuditVerdict {
  result: 'pass' | 'fail' | 'skip';
  line: string;
}

const FAILING = ['moderate', 'high', 'critical'] as const;

interface AuditJson {
  error?: { summary?: string; detail?: string; code?: string };
  message?: string;
  statusCode?: number;
  metadata?: { vulnerabilities?: Record<string, number>; dependencies?: { prod?: number } };
  vulnerabilities?: Record<string, { severity: string; via: (string | { title?: string; url?: string })[] }>;
}

export function auditVerdict(stdout: string): AuditVerdict {
  let j: AuditJson;
  try {
    j = JSON.parse(stdout) as AuditJson;
  } catch {
    return { result: 'skip', line: 'npm audit skipped: no JSON answer (the registry could not be asked)' };
  }
  if (j.error !== undefined || j.metadata?.vulnerabilities === undefined) {
    const why = j.message ?? j.error?.summary ?? j.error?.code ?? 'no audit data';
    return {
      result: 'skip',
      line: `npm audit skipped: the registry did not answer the audit request (${why.split('\n')[0] ?? ''})`,
    };
  }
  const counts = j.metadata.vulnerabilities;
  const bad = FAILING.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const deps = j.metadata.dependencies?.prod;
  if (bad === 0) {
    const low = (counts.low ?? 0) + (counts.info ?? 0);
    return {
      result: 'pass',
      line: `npm audit: no moderate or worse advisory in production dependencies${deps === undefined ? '' : ` (${deps} packages)`}${low > 0 ? `; ${low} low/info` : ''}`,
    };
  }
  const names = Object.entries(j.vulnerabilities ?? {})
    .filter(([, v]) => (FAILING as readonly string[]).includes(v.severity))
    .map(
      ([name, v]) =>
        `${name} (${v.severity}${v.via.map((x) => (typeof x === 'string' ? '' : `: ${x.title ?? ''} ${x.url ?? ''}`)).join('')})`,
    );
  return {
    result: 'fail',
    line: `npm audit: ${bad} moderate or worse advisories in production dependencies: ${names.join('; ')}`,
  };
}
