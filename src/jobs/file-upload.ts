import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { SpillwayError } from '../errors.ts';

export interface Uploaded {
  purpose: string;
  filename: string;
  bytes: number;
  path: string;
}

/**
 * Streams the `file` part of a multipart upload (what the OpenAI SDKs send to `POST /v1/files`) to `path`, never
 * holding it in memory, within `maxBytes`. busboy does the multipart parsing: a well-kept streaming parser, where a
 * hand-written one would be a security surface. An upload that pauses longer than `idleTimeoutMs` between two
 * chunks is refused (`request_timeout`): a large file may take long, a stalled one must not hold a socket and a
 * half-written file for ever.
 */
export function receiveUpload(req: IncomingMessage, dir: string, name: string, maxBytes: number, idleTimeoutMs: number): Promise<Uploaded> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.part`;
  return new Promise((resolveUpload, rejectUpload) => {
    let settled = false;
    let out: WriteStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      req.off('data', rearm);
    };
    const resolve = (u: Uploaded) => {
      if (settled) return;
      settle();
      resolveUpload(u);
    };
    const reject = (e: Error) => {
      if (settled) return;
      settle();
      rejectUpload(e);
    };
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        req.unpipe();
        req.resume(); // the rest is read and dropped, so the 408 can still be answered on this connection
        out?.destroy();
        rmSync(tmp, { force: true });
        reject(new SpillwayError('request_timeout', `The upload paused for more than ${idleTimeoutMs} ms (server.body_timeout).`));
      }, idleTimeoutMs);
    };
    rearm();
    req.on('data', rearm);
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 10 } });
    } catch {
      req.resume();
      reject(new SpillwayError('invalid_request', 'Upload the file as multipart/form-data with fields "purpose" and "file".'));
      return;
    }
    let purpose = '';
    let filename = '';
    let bytes = 0;
    let wrote: Promise<void> | undefined;
    let failed: SpillwayError | undefined;
    bb.on('field', (k, v) => {
      if (k === 'purpose') purpose = v;
    });
    bb.on('file', (field, stream, info) => {
      if (field !== 'file') {
        stream.resume();
        return;
      }
      filename = info.filename ?? 'upload.jsonl';
      out = createWriteStream(tmp);
      stream.on('data', (c: Buffer) => (bytes += c.length));
      stream.on('limit', () => {
        failed = new SpillwayError('job_storage_full', `The file is larger than jobs.max_file_bytes (${maxBytes} bytes).`);
      });
      const file = out;
      stream.pipe(file);
      wrote = new Promise((res, rej) => {
        file.on('finish', res);
        file.on('error', rej);
      });
    });
    bb.on('error', () => {
      out?.destroy();
      rmSync(tmp, { force: true });
      reject(new SpillwayError('invalid_request', 'The multipart upload could not be read.'));
    });
    bb.on('close', () => {
      if (settled) return;
      void (async () => {
        try {
          if (wrote === undefined) throw new SpillwayError('invalid_request', 'The upload has no "file" part.', { param: 'file' });
          await wrote;
          if (failed !== undefined) throw failed;
          // On disk before the file id is handed out, like the job store's own commits.
          const fd = openSync(tmp, 'r');
          try {
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
          if (purpose !== 'batch') throw new SpillwayError('invalid_request', `purpose must be "batch" (got ${JSON.stringify(purpose)}): Spillway stores batch input files only.`, { param: 'purpose' });
          renameSync(tmp, path);
          resolve({ purpose, filename, bytes, path });
        } catch (err) {
          rmSync(tmp, { force: true });
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      })();
    });
    req.pipe(bb);
  });
}
