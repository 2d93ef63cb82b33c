/**
 * Which cache namespace a tenant's answers live in. Every tenant has its own, so one tenant never receives an
 * answer another tenant's prompt produced (prompts can carry private data); tenants listed together in
 * `cache.tenant_groups` share their group's. Without gateway keys there is no tenant: one shared namespace.
 */
export class TenantNamespaces {
  private readonly groupOf: ReadonlyMap<string, string>;

  constructor(groups: Readonly<Record<string, readonly string[]>>) {
    const m = new Map<string, string>();
    for (const [group, tenants] of Object.entries(groups)) for (const t of tenants) m.set(t, group);
    this.groupOf = m;
  }

  /** The prefixes keep a group and a tenant of the same name apart. */
  of(tenant: string | undefined): string {
    if (tenant === undefined) return '-';
    const g = this.groupOf.get(tenant);
    return g === undefined ? `t:${tenant}` : `g:${g}`;
  }
}
