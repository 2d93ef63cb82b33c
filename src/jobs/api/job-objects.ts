import { readFileSync } from 'node:fs';
import { UPSTREAM_PATH } from '../../api/endpoints.ts';
import type {
  BatchRecord,
  FileRecord,
  ItemResult,
  ItemView,
  RequestCounts,
  RequestRecord,
} from '../store/job-store.ts';

/** OpenAI's file object. */
export function fileObject(f: FileRecord): Record<string, unknown> {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: f.createdAt,
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed',
    status_details: null,
  };
}

/** OpenAI's batch object. */
export function batchObject(b: BatchRecord, counts: RequestCounts): Record<string, unknown> {
  return {
    id: b.id,
    object: 'batch',
    endpoint: b.endpoint,
    errors: null,
    input_file_id: b.inputFileId,
    completion_window: b.completionWindow,
    status: b.status,
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: b.createdAt,
    in_progress_at: b.inProgressAt,
    expires_at: b.expiresAt,
    finalizing_at: b.finalizingAt,
    completed_at: b.completedAt,
    failed_at: b.failedAt,
    expired_at: b.expiredAt,
    cancelling_at: b.cancellingAt,
    cancelled_at: b.cancelledAt,
    request_counts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    metadata: b.metadata,
  };
}

/** The answer's JSON text, from the database or from its file. */
function resultText(r: ItemResult): string {
  return r.body ?? readFileSync(r.bodyPath ?? '', 'utf8');
}

/** Parses an answer body; a non-JSON answer is kept as a string. */
function bodyValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const JOB_STATUS: Record<ItemView['state'], string> = {
  queued: 'queued',
  running: 'in_progress',
  done: 'completed',
  failed: 'failed',
  dead: 'failed',
  cancelled: 'cancelled',
  expired: 'expired',
};

/** An async request as `GET /v1/jobs/{id}` and its webhook show it. */
export function jobObject(r: RequestRecord, item: ItemView): Record<string, unknown> {
  const res = item.result;
  const failedWithout =
    res === null && (item.state === 'dead' || item.state === 'cancelled' || item.state === 'expired');
  return {
    id: r.id,
    object: 'job',
    endpoint: `/v1${UPSTREAM_PATH[r.endpoint]}`,
    model: r.model,
    status: JOB_STATUS[item.state],
    created_at: r.createdAt,
    completed_at: res === null && !failedWithout ? null : Math.floor(item.updatedAt / 1000),
    attempts: item.attempts,
    response:
      res === null ? null : { status_code: res.status, request_id: res.requestId, body: bodyValue(resultText(res)) },
    error: failedWithout
      ? {
          code: item.state === 'dead' ? 'max_attempts_exceeded' : `job_${item.state}`,
          message: item.lastError ?? item.state,
        }
      : null,
  };
}

/**
 * One line of a batch's output or error file, in OpenAI's format. Answered items (2xx) go to the output file; items
 * answered with an error, and items that never got an answer (dead, cancelled, expired), to the error file.
 */
export function outputLine(item: ItemView): { file: 'output' | 'error'; line: string } | undefined {
  const id = `batch_req_${item.id}`;
  const r = item.result;
  if (r !== null) {
    const line = `{"id":${JSON.stringify(id)},"custom_id":${JSON.stringify(item.customId)},"response":{"status_code":${r.status},"request_id":${JSON.stringify(r.requestId)},"body":${jsonOrString(resultText(r))}},"error":null}`;
    return { file: r.status >= 200 && r.status < 300 ? 'output' : 'error', line };
  }
  if (item.state === 'queued' || item.state === 'running') return undefined;
  const code =
    item.state === 'dead' ? 'max_attempts_exceeded' : item.state === 'expired' ? 'batch_expired' : 'batch_cancelled';
  const message =
    item.state === 'dead'
      ? `Failed after ${item.attempts} attempts: ${item.lastError ?? 'unknown error'}`
      : item.state === 'expired'
        ? 'This request could not be executed before the completion window expired.'
        : 'The batch was cancelled before this request ran.';
  return {
    file: 'error',
    line: JSON.stringify({ id, custom_id: item.customId, response: null, error: { code, message } }),
  };
}

/** Embeds an answer's JSON text as is (no re-serialisation of large answers); anything else as a JSON string. */
function jsonOrString(text: string): string {
  try {
    const v: unknown = JSON.parse(text);
    // One line per item: a pretty-printed answer is re-serialised onto one line.
    return text.includes('\n') ? JSON.stringify(v) : text;
  } catch {
    return JSON.stringify(text);
  }
}
