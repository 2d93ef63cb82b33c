import { openAsBlob, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from './command.ts';
import { UsageError, parseFlags } from './args.ts';
import { call, targetOf } from './gateway-client.ts';
import { progressBar } from './progress-bar.ts';

const help = `Usage: spillway batch submit FILE.jsonl [--wait] [--url URL] [--api-key KEY] [options]

Uploads FILE.jsonl (OpenAI batch input: one {"custom_id","method","url","body"} per line) to a running gateway and
creates a batch (jobs.enabled must be on). Prints the batch id. With --wait, shows a progress bar until the batch
ends, then writes the output and error files next to FILE (FILE.output.jsonl, FILE.errors.jsonl) and exits 0 when
every request succeeded, 1 otherwise.

Options:
  --wait              wait for the batch to end, with a progress bar
  --endpoint PATH     /v1/chat/completions (default), /v1/completions or /v1/embeddings
  --window DURATION   completion_window (default 24h)
  --url URL           the gateway (default $SPILLWAY_URL, else http://127.0.0.1:8080)
  --api-key KEY       a gateway key, when auth.keys are configured (default $SPILLWAY_API_KEY)
  --poll SECONDS      with --wait, how often to ask (default 1)`;

interface Batch {
  id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
}

const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

export const command: Command = {
  name: 'batch',
  summary: 'submit a JSONL batch to a running gateway, optionally waiting with a progress bar',
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        wait: { type: 'boolean' },
        endpoint: { type: 'string' },
        window: { type: 'string' },
        url: { type: 'string' },
        'api-key': { type: 'string' },
        poll: { type: 'string' },
      },
      true,
    );
    const [sub, file, ...extra] = positionals;
    if (sub !== 'submit')
      throw new UsageError(sub === undefined ? 'expects "submit FILE.jsonl"' : `unknown subcommand "${sub}" (submit)`);
    if (file === undefined || extra.length > 0) throw new UsageError('submit expects exactly one FILE.jsonl');
    const pollS = values.poll === undefined ? 1 : Number(values.poll);
    if (!(pollS > 0)) throw new UsageError(`--poll expects a number of seconds, got "${values.poll ?? ''}"`);
    const t = targetOf(values.url, values['api-key'] ?? process.env.SPILLWAY_API_KEY);
    try {
      const form = new FormData();
      form.set('purpose', 'batch');
      form.set('file', await openAsBlob(file), basename(file));
      const uploaded = (await call(t, 'POST', '/v1/files', form)) as { id: string };
      let b = (await call(
        t,
        'POST',
        '/v1/batches',
        JSON.stringify({
          input_file_id: uploaded.id,
          endpoint: values.endpoint ?? '/v1/chat/completions',
          completion_window: values.window ?? '24h',
        }),
        { 'content-type': 'application/json' },
      )) as Batch;
      process.stdout.write(`${b.id}\n`);
      if (values.wait !== true) return 0;
      const bar = progressBar(process.stderr);
      while (!FINAL.has(b.status)) {
        bar.draw(
          b.request_counts.completed + b.request_counts.failed,
          b.request_counts.total,
          `${b.request_counts.failed} failed  ${b.status}`,
        );
        await new Promise((r) => setTimeout(r, pollS * 1000));
        b = (await call(t, 'GET', `/v1/batches/${b.id}`)) as Batch;
      }
      bar.done(
        b.request_counts.completed + b.request_counts.failed,
        b.request_counts.total,
        `${b.request_counts.failed} failed  ${b.status}`,
      );
      const stem = file.replace(/\.jsonl$/, '');
      for (const [id, suffix] of [
        [b.output_file_id, 'output'],
        [b.error_file_id, 'errors'],
      ] as const) {
        if (id === null) continue;
        const res = await fetch(`${t.url}/v1/files/${id}/content`, {
          headers: t.key === undefined ? {} : { authorization: `Bearer ${t.key}` },
        });
        if (!res.ok) throw new Error(`GET /v1/files/${id}/content: ${res.status}`);
        writeFileSync(`${stem}.${suffix}.jsonl`, Buffer.from(await res.arrayBuffer()));
        process.stderr.write(`wrote ${stem}.${suffix}.jsonl\n`);
      }
      return b.status === 'completed' && b.request_counts.failed === 0 ? 0 : 1;
    } catch (err) {
      process.stderr.write(`spillway batch: ${(err as Error).message}\n`);
      return 1;
    }
  },
};
