import { SpillwayError } from '../errors.ts';

/**
 * Checks a request's target (`req.url`, as the client sent it) once, before any route sees it: every router
 * downstream (admin, dashboard, jobs, the API) may then decode its path segments and parse it as a URL without a
 * hostile byte sequence throwing inside a handler. Returns the refusal to answer, or undefined when it is usable.
 */
export function checkRequestTarget(url: string): SpillwayError | undefined {
  if (PLAIN_PATH.test(url)) return undefined; // the usual target: nothing in it can fail either parse
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  try {
    decodeURIComponent(path);
    new URL(url, 'http://gateway');
  } catch {
    return new SpillwayError(
      'invalid_request',
      'The request path is not a valid URL (malformed percent-encoding or characters).',
    );
  }
  return undefined;
}

/**
 * A path of unreserved characters and slashes, not opening with `//` (that would be an authority): it has nothing
 * to decode and is always a valid URL path, so the two parses below (about 1% of a request's CPU) are skipped.
 */
const PLAIN_PATH = /^\/(?:[\w\-.~][\w\-.~/]*)?$/;

/** decodeURIComponent for one path segment that never throws: undefined when it is not valid percent-encoding. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
