import { randomBytes } from 'node:crypto';

/**
 * Ids that sort by creation time (a base-36 millisecond prefix), so "newest first" lists page by id alone, with 12
 * random bytes so they cannot be guessed (an id is all a client needs to read a job of its tenant).
 */
export function newId(prefix: 'file' | 'batch' | 'job', nowMs: number): string {
  const sep = prefix === 'file' ? '-' : '_';
  return `${prefix}${sep}${nowMs.toString(36).padStart(9, '0')}${randomBytes(12).toString('hex')}`;
}
