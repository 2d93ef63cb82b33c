import { createWriteStream, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { BatchRecord, BatchStatus, JobStore } from '../store/job-store.ts';
import { outputLine } from '../api/job-objects.ts';

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
  let outputFileId: string | null;
  let errorFileId: string | null;
  try {
    for await (const item of store.items(b.id)) {
      const l = outputLine(item);
      if (l !== undefined) await (l.file === 'output' ? out : err).write(l.line);
    }
    outputFileId = await out.finish(store, `file-${b.id}-output`, b.tenant, nowS);
    errorFileId = await err.finish(store, `file-${b.id}-errors`, b.tenant, nowS);
  } catch (e) {
    // A full or unwritable disk: nothing half-written stays; the batch stays finalizing and is tried again.
    out.discard();
    err.discard();
    throw e;
  }
  const status: BatchStatus =
    b.status === 'cancelling' || b.cancellingAt !== null
      ? 'cancelled'
      : expired || b.expiredAt !== null || b.expiresAt * 1000 < nowMs
        ? 'expired'
        : 'completed';
  await store.setBatch(b.id, {
    status,
    outputFileId,
    errorFileId,
    ...(status === 'completed'
      ? { completedAt: nowS }
      : status === 'cancelled'
        ? { cancelledAt: nowS }
        : { expiredAt: nowS }),
  });
}

/** A JSONL file written under a temporary name and renamed into place when complete; skipped when empty. */
class FileSink {
  private readonly path: string;
  private readonly tmp: string;
  private stream: ReturnType<typeof createWriteStream> | undefined;
  /** The stream's error, kept: with no listener an 'error' event (ENOSPC, EACCES) would end the process. */
  private failed: Error | undefined;
  private lines = 0;

  constructor(path: string) {
    this.path = path;
    this.tmp = `${path}.${randomUUID()}.tmp`; // two instances may finalize the same batch at once
  }

  async write(line: string): Promise<void> {
    if (this.stream === undefined) {
      this.stream = createWriteStream(this.tmp);
      this.stream.on('error', (e: Error) => (this.failed ??= e));
    }
    this.check();
    this.lines++;
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }

  private check(): void {
    if (this.failed !== undefined) throw this.failed;
  }

  /** Removes the temporary file of a write that cannot finish. */
  discard(): void {
    this.stream?.destroy();
    rmSync(this.tmp, { force: true });
  }

  async finish(store: JobStore, id: string, tenant: string, nowS: number): Promise<string | null> {
    if (this.stream === undefined) return null;
    const s = this.stream;
    this.check();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.end((e?: Error | null) => (e ? reject(e) : resolve()));
    });
    this.check();
    renameSync(this.tmp, this.path);
    const path = this.path;
    // Not recorded (the store is full or away): removed, so no file the store does not know stays on disk; the
    // next finalize writes it again.
    await store
      .addFile({
        id,
        tenant,
        purpose: 'batch_output',
        filename: path.slice(path.lastIndexOf('/') + 1),
        bytes: statSync(path).size,
        createdAt: nowS,
        path,
      })
      .catch((e: unknown) => {
        rmSync(path, { force: true });
        throw e;
      });
    return id;
  }
}
