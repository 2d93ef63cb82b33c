import type { Priority, TenantConfig } from '../config/types.ts';

const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** The class a request runs in: what it asked for (else its tenant's default), never above what its tenant may use. */
export function effectivePriority(asked: string | undefined, tenant: TenantConfig | undefined): Priority {
  const wanted: Priority = asked === 'high' || asked === 'normal' || asked === 'low' ? asked : (tenant?.priority ?? 'normal');
  if (tenant === undefined) return wanted;
  return RANK[wanted] < RANK[tenant.maxPriority] ? tenant.maxPriority : wanted;
}
