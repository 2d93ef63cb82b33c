import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestTarget } from '../../../src/server/request-target.ts';

/** The rule: a target is usable when its path decodes and the whole parses as a URL. */
function usable(url: string): boolean {
  const q = url.indexOf('?');
  try {
    decodeURIComponent(q < 0 ? url : url.slice(0, q));
    new URL(url, 'http://gateway');
    return true;
  } catch {
    return false;
  }
}

test('a request target is refused exactly when its path does not decode or it does not parse as a URL', () => {
  const named = ['/v1/chat/completions', '/', '', '//', '//x', '/a//b', '/%zz', '/%E2%9C%93', '/a?b=%zz', '/\\x', '/é'];
  for (const url of named) assert.equal(checkRequestTarget(url) === undefined, usable(url), JSON.stringify(url));
  // Every string of up to 4 characters over an alphabet of the characters that matter.
  const alphabet = ['/', 'a', '.', '%', '2', '\\', '~', '-', '_', '?', ':', '@', ' ', 'é', '[', '#'];
  let targets = [''];
  for (let len = 1; len <= 4; len++) {
    targets = targets.flatMap((t) => alphabet.map((c) => t + c));
    for (const url of targets) {
      const got = checkRequestTarget(url);
      assert.equal(got === undefined, usable(url), JSON.stringify(url));
      if (got !== undefined) assert.equal(got.code, 'invalid_request');
    }
  }
});
