import type { TenantConfig } from '../config/types.ts';
import { PRIORITY_RANK, type RequestPriority } from '../priority.ts';

/** The class a request runs in: what it asked for (else its tenant's default), never above what its tenant may use. */
export function effectivePriority(asked: string | undefined, tenant: TenantConfig | undefined): RequestPriority {
  const wanted: RequestPriority =
    asked === 'high' || asked === 'normal' || asked === 'low' ? asked : (tenant?.priority ?? 'normal');
  if (tenant === undefined) return wanted;
  return PRIORITY_RANK[wanted] < PRIORITY_RANK[tenant.maxPriority] ? tenant.maxPriority : wanted;
}
