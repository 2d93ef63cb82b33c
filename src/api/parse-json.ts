import { SpillwayError } from '../errors.ts';

/**
 * The deepest nesting of arrays and objects accepted in a client's JSON. JSON.parse itself does not recurse, but
 * everything after it may (JSON.stringify, the cache key's canonical form, a relay rewriting the body): a body
 * nested a million levels deep would throw a stack overflow there. Real requests, JSON schemas of tools included,
 * stay far below it.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Parses client JSON, refusing (`invalid_request`, naming the limit) nesting deeper than MAX_JSON_DEPTH before
 * JSON.parse spends time on it; malformed JSON is `invalid_json`. `what` names the text in the messages.
 */
export function parseClientJson(raw: Buffer | string, what: string): unknown {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (nestingExceeds(bytes, MAX_JSON_DEPTH)) {
    throw new SpillwayError(
      'invalid_request',
      `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit.`,
    );
  }
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new SpillwayError('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** parseClientJson for a body that must be one JSON object (`invalid_request` otherwise), named by `what`. */
export function parseClientJsonObject(raw: Buffer | string, what: string): Record<string, unknown> {
  const v = parseClientJson(raw, what);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new SpillwayError('invalid_request', `${what} must be a JSON object.`);
  return v as Record<string, unknown>;
}

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when `json` opens more than `max` arrays/objects inside one another (brackets inside strings do not count).
 * Linear and stops at the first excess; a body with fewer opening brackets than `max` is not scanned at all (the
 * common case: a chat request has a handful), using the native indexOf to count them.
 */
export function nestingExceeds(json: Buffer, max: number): boolean {
  let openers = 0;
  for (const b of [OPEN_ARRAY, OPEN_OBJECT]) {
    for (let i = json.indexOf(b); i >= 0 && openers <= max; i = json.indexOf(b, i + 1)) openers++;
  }
  if (openers <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}
