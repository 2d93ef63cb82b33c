/**
 * Per-request fault injection. A test asks for a failure in the request body's `mock` field (the gateway passes
 * unknown fields through untouched), so one simulator serves healthy and failing calls side by side:
 *
 *   {"mock": {"status": 503, "retry_after_s": 2}}     answer that error (OpenAI error JSON)
 *   {"mock": {"reset_before_headers": true}}          drop the connection without answering
 *   {"mock": {"reset_after_tokens": 3}}               send 3 tokens, then drop the connection
 *   {"mock": {"stall_after_headers": true}}           send headers, then nothing, ever
 *   {"mock": {"stall_after_tokens": 3}}               send 3 tokens, then nothing, ever
 *   {"mock": {"ttft_ms": 50, "token_ms": 5}}          this request's pacing
 *   {"mock": {"blank_lines_before": 4}}               4 keep-alive lines before the first token
 *   {"mock": {"blank_200": true}}                     200 whose body is only blank lines
 *   {"mock": {"keep_alive_forever": true}}            200 headers, then keep-alive lines, never an answer
 *   {"mock": {"end_after_tokens": 3}}                 send 3 tokens, then end cleanly (no [DONE], JSON cut)
 *   {"mock": {"wrong_content_type": true}}            200 text/html page instead of the answer
 *
 * "Tokens" here are every generated piece: reasoning, content, or a tool call's argument piece.
 */
export interface Faults {
  status?: number;
  retryAfterS?: number;
  resetBeforeHeaders?: boolean;
  resetAfterTokens?: number;
  stallAfterHeaders?: boolean;
  stallAfterTokens?: number;
  ttftMs?: number;
  tokenMs?: number;
  blankLinesBefore?: number;
  blank200?: boolean;
  keepAliveForever?: boolean;
  endAfterTokens?: number;
  wrongContentType?: boolean;
  /** Set by a mock-level slowTokens draw (not a body field), so the fault is counted when it is applied. */
  slowTokens?: boolean;
}

const FIELDS = {
  status: 'status',
  retry_after_s: 'retryAfterS',
  reset_before_headers: 'resetBeforeHeaders',
  reset_after_tokens: 'resetAfterTokens',
  stall_after_headers: 'stallAfterHeaders',
  stall_after_tokens: 'stallAfterTokens',
  ttft_ms: 'ttftMs',
  token_ms: 'tokenMs',
  blank_lines_before: 'blankLinesBefore',
  blank_200: 'blank200',
  keep_alive_forever: 'keepAliveForever',
  end_after_tokens: 'endAfterTokens',
  wrong_content_type: 'wrongContentType',
} as const satisfies Record<string, keyof Faults>;

const BOOLEAN = new Set<string>([
  'reset_before_headers',
  'stall_after_headers',
  'blank_200',
  'keep_alive_forever',
  'wrong_content_type',
]);

export type ParsedFaults = { ok: true; faults: Faults | undefined } | { ok: false; message: string };

/** Reads `body.mock`. Unknown fields and wrong types are errors: a typo in a test should not pass silently. */
export function parseFaults(raw: unknown): ParsedFaults {
  if (raw === undefined || raw === null) return { ok: true, faults: undefined };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, message: '"mock" must be an object' };
  const faults: Faults = {};
  for (const [field, value] of Object.entries(raw)) {
    if (!Object.hasOwn(FIELDS, field)) {
      return { ok: false, message: `unknown mock field "${field}" (known: ${Object.keys(FIELDS).join(', ')})` };
    }
    const key = FIELDS[field as keyof typeof FIELDS];
    if (BOOLEAN.has(field)) {
      if (typeof value !== 'boolean') return { ok: false, message: `mock.${field} must be true or false` };
      (faults as Record<string, unknown>)[key] = value;
    } else {
      if (!Number.isInteger(value) || (value as number) < 0) {
        return { ok: false, message: `mock.${field} must be a non-negative integer` };
      }
      (faults as Record<string, unknown>)[key] = value;
    }
  }
  if (faults.status !== undefined && (faults.status < 400 || faults.status > 599)) {
    return { ok: false, message: 'mock.status must be an HTTP error status (400-599)' };
  }
  return { ok: true, faults };
}
