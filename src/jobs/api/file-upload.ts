import {
  closeSync,
  createWriteStream,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type busboy from 'busboy';
import { SpillwayError } from '../../errors.ts';
import { storeError } from '../store/guard-store.ts';

export interface Uploaded {
  purpose: string;
  filename: string;
  bytes: number;
  path: string;
}

export interface UploadLimits {
  maxBytes: number;
  /** Longest pause between two chunks (`server.body_timeout`). */
  idleTimeoutMs: number;
  /** Longest time for the whole upload (`server.upload_timeout`): a client dripping a byte per pause is cut too. */
  totalTimeoutMs: number;
}

/**
 * Streams the `file` part of a multipart upload (what the OpenAI SDKs send to `POST /v1/files`) to `path`, never
 * holding it in memory, within `limits`. busboy does the multipart parsing: a well-kept streaming parser, where a
 * hand-written one would be a security surface.
 *
 * Every way an upload can go wrong settles the promise exactly once with a SpillwayError, and only after the
 * half-written `.part` file is gone (closed, then removed: removing it before its write stream has opened would let
 * the open create it again): a form cut before its closing boundary (400), a file over the size limit or a write
 * error (507 for a full disk, 503 for a directory that cannot be written), a client too slow (408) or gone.
 */
export function receiveUpload(
  req: IncomingMessage,
  dir: string,
  name: string,
  limits: UploadLimits,
): Promise<Uploaded> {
  const path = join(dir, name);
  const tmp = `${path}.part`;
  return new Promise((resolveUpload, rejectUpload) => {
    let settled = false;
    let out: WriteStream | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    let bb: busboy.Busboy | undefined;
    const stopListening = () => {
      settled = true;
      clearTimeout(idleTimer);
      clearTimeout(totalTimer);
      req.off('data', rearm);
      req.off('close', onClientGone);
    };
    /** Stops reading the form, drops the rest of the body (so the error can still be answered) and the temp file. */
    const fail = (e: SpillwayError) => {
      if (settled) return;
      stopListening();
      if (bb !== undefined) {
        req.unpipe(bb);
        bb.removeAllListeners('file');
        bb.on('error', () => undefined); // late parse errors of a form already refused
      }
      req.resume();
      discardTemp(out, tmp, () => rejectUpload(e));
    };
    const rearm = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () =>
          fail(
            new SpillwayError(
              'request_timeout',
              `The upload paused for more than ${limits.idleTimeoutMs} ms (server.body_timeout).`,
            ),
          ),
        limits.idleTimeoutMs,
      );
    };
    const onClientGone = () => {
      if (!req.complete)
        fail(new SpillwayError('invalid_request', 'The client closed the connection before the upload was complete.'));
    };
    rearm();
    const totalTimer = setTimeout(
      () =>
        fail(
          new SpillwayError(
            'request_timeout',
            `The upload took longer than ${limits.totalTimeoutMs} ms (server.upload_timeout).`,
          ),
        ),
      limits.totalTimeoutMs,
    );
    req.on('data', rearm);
    req.on('close', onClientGone);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      fail(writeFailed(err));
      return;
    }
    try {
      bb = loadBusboy()({
        headers: req.headers,
        limits: { fileSize: limits.maxBytes, files: 1, fields: 10, fieldSize: 64 * 1024 },
      });
    } catch {
      fail(
        new SpillwayError(
          'invalid_request',
          'Upload the file as multipart/form-data with fields "purpose" and "file".',
        ),
      );
      return;
    }
    let purpose = '';
    let filename = '';
    let bytes = 0;
    let wrote: Promise<void> | undefined;
    bb.on('field', (k, v) => {
      if (k === 'purpose') purpose = v;
    });
    bb.on('file', (field, stream, info) => {
      if (field !== 'file' || wrote !== undefined) {
        stream.on('error', () => undefined).resume();
        return;
      }
      filename = info.filename ?? 'upload.jsonl';
      const file = createWriteStream(tmp);
      out = file;
      stream.on('data', (c: Buffer) => (bytes += c.length));
      stream.on('limit', () =>
        fail(
          new SpillwayError(
            'job_storage_full',
            `The file is larger than jobs.max_file_bytes (${limits.maxBytes} bytes).`,
          ),
        ),
      );
      // pipeline() handles an error on either side (a cut form, a full disk) and destroys both streams.
      wrote = pipeline(stream, file);
      wrote.catch((err: unknown) => {
        // A form cut short errors the part stream too (busboy's own 'error' below answers that 400): only a failed
        // system call on the file (ENOSPC, EROFS, EACCES, EIO) is a storage failure.
        if (isSystemError(err)) fail(writeFailed(err));
      });
    });
    bb.on('error', () =>
      fail(
        new SpillwayError(
          'invalid_request',
          'The multipart upload could not be read (it ended before its closing boundary, or is not valid multipart/form-data).',
        ),
      ),
    );
    bb.on('close', () => {
      if (settled) return;
      void (async () => {
        try {
          if (wrote === undefined)
            throw new SpillwayError('invalid_request', 'The upload has no "file" part.', { param: 'file' });
          try {
            await wrote;
          } catch (err) {
            throw isSystemError(err)
              ? writeFailed(err)
              : new SpillwayError('invalid_request', 'The multipart upload could not be read.');
          }
          if (settled) return;
          if (purpose !== 'batch')
            throw new SpillwayError(
              'invalid_request',
              `purpose must be "batch" (got ${JSON.stringify(purpose)}): Spillway stores batch input files only.`,
              { param: 'purpose' },
            );
          try {
            // On disk before the file id is handed out, like the job store's own commits.
            const fd = openSync(tmp, 'r');
            try {
              fsyncSync(fd);
            } finally {
              closeSync(fd);
            }
            renameSync(tmp, path);
          } catch (err) {
            throw writeFailed(err);
          }
          if (settled) {
            rmSync(path, { force: true });
            return;
          }
          stopListening();
          resolveUpload({ purpose, filename, bytes, path });
        } catch (err) {
          fail(err instanceof SpillwayError ? err : writeFailed(err));
        }
      })();
    });
    req.pipe(bb);
  });
}

/**
 * A failure to store the bytes, classified as the job store's own are: a full disk is 507 `disk_full`, a data
 * directory that cannot be written (read-only, permissions, not a directory) 503 `store_unavailable`.
 */
function writeFailed(err: unknown): SpillwayError {
  const mapped = storeError(err);
  if (mapped instanceof SpillwayError) return mapped;
  const code = err instanceof Error && 'code' in err ? String(err.code) : 'unknown';
  return new SpillwayError(
    'store_unavailable',
    `The upload could not be written under jobs.data_dir (${code}); nothing was kept, retry later.`,
    { retryAfterS: 5, cause: err },
  );
}

function isSystemError(err: unknown): boolean {
  return err instanceof Error && 'syscall' in err;
}

/** Closes the temp file's stream (if any), removes the file, then calls `done`. */
function discardTemp(out: WriteStream | undefined, tmp: string, done: () => void): void {
  const remove = () => {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing to remove where the directory itself is unusable (the error being answered says so).
    }
    done();
  };
  if (out === undefined || out.closed) {
    remove();
    return;
  }
  out.once('close', remove);
  out.destroy();
}

/** busboy, loaded with the first upload: most gateways never take one, and start faster without it. */
function loadBusboy(): typeof busboy {
  return createRequire(import.meta.url)('busboy') as typeof busboy;
}
