import { createWriteStream, mkdirSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { BatchRecord, BatchStatus, JobStore } from './job-store.ts';
import { outputLine } from './job-objects.ts';

/**
 * Ends a batch whose items have all ended (or whose completion window has passed): writes its output and error files
 * (streamed item by item: a large batch never sits in memory), records them, and sets the final status. Safe to run
 * twice — after a crash half-way, or on two instances — since the file ids are derived from the batch id and each
 * file is written to a temporary name and renamed into place.
 */
export async function finalizeBatch(store: JobStore, b: BatchRecord, dataDir: string, nowMs: number): Promise<void> {
  const nowS = Math.floor(nowMs / 1000);
  const expired = b.expiresAt * 1000 < nowMs && b.status === 'in_progress';
  if (expired) await store.expireItems(b.id, nowMs);
  const counts = await store.counts(b.id);
  // Past its window (queued items expired above) a batch still waits for the items already running.
  if (counts.open > 0) return;
  if (b.status !== 'finalizing') await store.setBatch(b.id, { status: 'finalizing', finalizingAt: nowS });
  const dir = join(dataDir, 'files');
  mkdirSync(dir, { recursive: true });
  const out = new FileSink(join(dir, `${b.id}-output.jsonl`));
  const err = new FileSink(join(dir, `${b.id}-errors.jsonl`));
  for await (const item of store.items(b.id)) {
    const l = outputLine(item);
    if (l !== undefined) await (l.file === 'output' ? out : err).write(l.line);
  }
  const outputFileId = await out.finish(store, `file-${b.id}-output`, b.tenant, nowS);
  const errorFileId = await err.finish(store, `file-${b.id}-errors`, b.tenant, nowS);
  const status: BatchStatus = b.status === 'cancelling' || b.cancellingAt !== null ? 'cancelled' : expired || b.expiredAt !== null || b.expiresAt * 1000 < nowMs ? 'expired' : 'completed';
  await store.setBatch(b.id, {
    status, outputFileId, errorFileId,
    ...(status === 'completed' ? { completedAt: nowS } : status === 'cancelled' ? { cancelledAt: nowS } : { expiredAt: nowS }),
  });
}

/** A JSONL file written under a temporary name and renamed into place when complete; skipped when empty. */
class FileSink {
  private readonly path: string;
  private readonly tmp: string;
  private stream: ReturnType<typeof createWriteStream> | undefined;
  private lines = 0;

  constructor(path: string) {
    this.path = path;
    this.tmp = `${path}.${randomUUID()}.tmp`; // two instances may finalize the same batch at once
  }

  async write(line: string): Promise<void> {
    this.stream ??= createWriteStream(this.tmp);
    this.lines++;
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }

  async finish(store: JobStore, id: string, tenant: string, nowS: number): Promise<string | null> {
    if (this.stream === undefined) return null;
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((e?: Error | null) => (e ? reject(e) : resolve())));
    renameSync(this.tmp, this.path);
    await store.addFile({ id, tenant, purpose: 'batch_output', filename: this.path.slice(this.path.lastIndexOf('/') + 1), bytes: statSync(this.path).size, createdAt: nowS, path: this.path });
    return id;
  }
}
