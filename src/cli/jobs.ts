import type { Command } from './command.ts';
import { UsageError, parseFlags } from './args.ts';
import { call, targetOf, type GatewayTarget } from './gateway-client.ts';

const help = `Usage: spillway jobs <ls|show|retry|purge> [ID] [--url URL] [--admin-key KEY]

Inspects a running gateway's async jobs and batch items through its admin API (jobs.enabled must be on).

  ls              item counts by state, the oldest queued item's age, and the dead-letter list
  show ID         one item: state, attempts, last error, response status
  retry ID        put a dead item back in the queue, its attempts reset
  purge ID        delete one dead item;  purge --all: delete every dead item

Options:
  --url URL        the gateway (default $SPILLWAY_URL, else http://127.0.0.1:8080)
  --admin-key KEY  admin.key of the gateway (default $SPILLWAY_ADMIN_KEY)
  --all            with purge: every dead item
  --json           print the admin API's JSON instead of a table`;

interface DeadItem {
  id: string;
  custom_id: string;
  tenant: string;
  attempts: number;
  last_error: string | null;
  updated_at: number;
}

export const command: Command = {
  name: 'jobs',
  summary: 'list, inspect, retry and purge async jobs and dead letters on a running gateway',
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        url: { type: 'string' },
        'admin-key': { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      true,
    );
    const [sub, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0] ?? ''}"`);
    const t = targetOf(values.url, values['admin-key'] ?? process.env.SPILLWAY_ADMIN_KEY);
    const out = (v: unknown, text: () => string) =>
      process.stdout.write(values.json === true ? `${JSON.stringify(v, null, 2)}\n` : `${text()}\n`);
    const needId = (): string => {
      if (id === undefined) throw new UsageError(`${sub ?? ''} expects an item ID (see spillway jobs ls)`);
      return encodeURIComponent(id);
    };
    try {
      switch (sub) {
        case 'ls':
          await list(t, out);
          return 0;
        case 'show': {
          const v = await call(t, 'GET', `/admin/jobs/items/${needId()}`);
          out(v, () =>
            Object.entries(v as Record<string, unknown>)
              .map(([k, x]) => `${k.padEnd(12)} ${typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)}`)
              .join('\n'),
          );
          return 0;
        }
        case 'retry': {
          const v = await call(t, 'POST', `/admin/jobs/dead/${needId()}/requeue`);
          out(v, () => `requeued ${id ?? ''}`);
          return 0;
        }
        case 'purge': {
          if (values.all === true && id !== undefined) throw new UsageError('purge takes an ID or --all, not both');
          if (values.all !== true && id === undefined)
            throw new UsageError('purge expects an item ID, or --all for every dead item');
          const v = (await call(
            t,
            'DELETE',
            values.all === true ? '/admin/jobs/dead' : `/admin/jobs/dead/${needId()}`,
          )) as { purged: number };
          out(v, () => `purged ${v.purged} dead item${v.purged === 1 ? '' : 's'}`);
          return 0;
        }
        case undefined:
          throw new UsageError('expects a subcommand: ls, show, retry or purge');
        default:
          throw new UsageError(`unknown subcommand "${sub}" (ls, show, retry, purge)`);
      }
    } catch (err) {
      if (err instanceof UsageError) throw err;
      process.stderr.write(`spillway jobs: ${(err as Error).message}\n`);
      return 1;
    }
  },
};

async function list(t: GatewayTarget, out: (v: unknown, text: () => string) => void): Promise<void> {
  const stats = (await call(t, 'GET', '/admin/jobs')) as {
    items: Record<string, number>;
    oldest_queued_age_seconds: number;
  };
  const dead = (await call(t, 'GET', '/admin/jobs/dead?limit=100')) as { data: DeadItem[]; has_more: boolean };
  out({ ...stats, dead: dead.data }, () => {
    const counts = Object.entries(stats.items)
      .map(([k, n]) => `${k} ${n}`)
      .join('   ');
    const lines = [`items: ${counts}`, `oldest queued: ${Math.round(stats.oldest_queued_age_seconds)} s`];
    if (dead.data.length === 0) return [...lines, 'dead letters: none'].join('\n');
    lines.push(
      `dead letters${dead.has_more ? ' (first 100)' : ''}:`,
      `  ${'ID'.padEnd(44)} ${'CUSTOM_ID'.padEnd(20)} ATTEMPTS  LAST ERROR`,
    );
    for (const d of dead.data)
      lines.push(
        `  ${d.id.padEnd(44)} ${d.custom_id.slice(0, 20).padEnd(20)} ${String(d.attempts).padEnd(8)}  ${(d.last_error ?? '').slice(0, 100)}`,
      );
    return lines.join('\n');
  });
}
