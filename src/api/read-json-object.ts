import type { IncomingMessage } from 'node:http';
import { readBody } from '../server/read-body.ts';
import { parseClientJsonObject } from './parse-json.ts';

/**
 * Reads a small JSON body that must be one object (a command's arguments: a batch to create, an admin action); an
 * empty body is `{}`, so a command without arguments needs none. `what` names the body in the errors, in the words
 * of the API the client called ("The request body", "The admin request body").
 */
export async function readJsonObject(
  req: IncomingMessage,
  o: { what: string; limit: number; timeoutMs: number },
): Promise<Record<string, unknown>> {
  const buf = await readBody(req, o.limit, o.timeoutMs);
  return buf.length === 0 ? {} : parseClientJsonObject(buf, o.what);
}
