import { createHash } from 'node:crypto';
import type { Problems } from './problems.ts';
import type { RawConfig } from './schema.ts';
import type { GatewayKey, ModelConfig, TenantConfig } from './types.ts';
import { PRIORITY_RANK, type RequestPriority } from '../priority.ts';
import { limitsOf } from './build-upstreams.ts';

/** The gateway keys, held by hash; each names a declared tenant and, if it says, public models of this config. */
export function keysOf(raw: RawConfig, models: Readonly<Record<string, ModelConfig>>, p: Problems): GatewayKey[] {
  return raw.auth.keys.map((k, i) => {
    if ((k.key === undefined) === (k.key_sha256 === undefined))
      p.at(['auth', 'keys', i], 'expected exactly one of key or key_sha256');
    // A typo in a tenant name would otherwise make a tenant of its own, outside every limit and priority cap.
    if (!(k.tenant in raw.tenants)) {
      const declared = Object.keys(raw.tenants);
      p.at(
        ['auth', 'keys', i, 'tenant'],
        `got "${k.tenant}", expected a tenant declared under tenants (${declared.length === 0 ? 'none is: add tenants: { ' + k.tenant + ': {} }' : `one of: ${declared.join(', ')}`})`,
      );
    }
    for (const [j, m] of (k.models ?? []).entries()) {
      if (!(m in models))
        p.at(
          ['auth', 'keys', i, 'models', j],
          `got "${m}", expected a public model (one of: ${Object.keys(models).join(', ')})`,
        );
    }
    const sha256 =
      k.key_sha256 ??
      createHash('sha256')
        .update(k.key ?? '')
        .digest('hex');
    return { sha256, tenant: k.tenant, models: k.models ?? null, limits: limitsOf(k) };
  });
}

/** `high` only when the tenant is given it, by max_priority or by a default priority of high. */
function maxPriorityOf(t: { priority: RequestPriority; max_priority?: RequestPriority | undefined }): RequestPriority {
  return t.max_priority ?? (t.priority === 'high' ? 'high' : 'normal');
}

/** The tenants; a tenant's default priority is at most the highest it may ask for. */
export function tenantsOf(raw: RawConfig, p: Problems): Record<string, TenantConfig> {
  for (const [name, t] of Object.entries(raw.tenants)) {
    if (PRIORITY_RANK[t.priority] < PRIORITY_RANK[maxPriorityOf(t)])
      p.at(
        ['tenants', name, 'priority'],
        `got "${t.priority}", expected at most its max_priority ("${maxPriorityOf(t)}")`,
      );
  }
  return Object.fromEntries(
    Object.entries(raw.tenants).map(([name, t]) => [
      name,
      { priority: t.priority, maxPriority: maxPriorityOf(t), limits: limitsOf(t) },
    ]),
  );
}
