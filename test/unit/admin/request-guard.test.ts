import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { contentTypeProblem, hostProblem, originProblem, RequestGuard } from '../../../src/admin/request-guard.ts';
import type { SpillwayError } from '../../../src/errors.ts';

test('on a loopback listener only loopback names, the listen address and server.allowed_hosts are answered', () => {
  const loop = { listenHost: '127.0.0.1', allowedHosts: ['spillway.local'] };
  const table: [string | undefined, { listenHost: string; allowedHosts: string[] }, boolean][] = [
    ['127.0.0.1:8080', loop, true],
    ['localhost:8080', loop, true],
    ['LOCALHOST', loop, true],
    ['[::1]:8080', loop, true],
    ['spillway.local:8080', loop, true],
    [undefined, loop, true],
    ['evil.example:8080', loop, false],
    ['evil.example', loop, false],
    ['10.0.0.5:8080', loop, false],
    ['127.0.0.1.evil.example', loop, false],
    // A wildcard listener without allowed_hosts: the keys (mandatory there) protect it, any name is answered.
    ['gw.corp:8080', { listenHost: '0.0.0.0', allowedHosts: [] }, true],
    ['gw.corp:8080', { listenHost: '0.0.0.0', allowedHosts: ['gw.internal'] }, false],
    ['gw.internal:8080', { listenHost: '0.0.0.0', allowedHosts: ['gw.internal'] }, true],
    ['[::1]:9', { listenHost: '::1', allowedHosts: [] }, true],
  ];
  for (const [host, policy, ok] of table)
    assert.equal(hostProblem(host, policy) === null, ok, `${String(host)} on ${policy.listenHost}`);
  assert.match(
    hostProblem('evil.example:1', loop) ?? '',
    /Host "evil\.example" is not a name of this gateway.*DNS rebinding/,
  );
});

test('an Origin must be the origin the request was sent to; no Origin is not a cross-site browser request', () => {
  const table: [string | undefined, string | undefined, boolean][] = [
    [undefined, '127.0.0.1:8080', true],
    ['http://127.0.0.1:8080', '127.0.0.1:8080', true],
    ['http://127.0.0.1:9999', '127.0.0.1:8080', false],
    ['https://evil.example', '127.0.0.1:8080', false],
    ['null', '127.0.0.1:8080', false],
    ['http://localhost:8080', '127.0.0.1:8080', false],
  ];
  for (const [origin, host, ok] of table)
    assert.equal(originProblem(origin, host) === null, ok, `${String(origin)} → ${String(host)}`);
});

test('state-changing admin requests are JSON only: form and text types a cross-site page can send are refused', () => {
  for (const ct of ['application/json', 'application/json; charset=utf-8', 'Application/JSON'])
    assert.equal(contentTypeProblem(ct), null, ct);
  for (const ct of [
    undefined,
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'text/plain; a=application/json',
  ]) {
    assert.match(contentTypeProblem(ct) ?? '', /need "content-type: application\/json"/, String(ct));
  }
});

test('the guard answers each Host as hostProblem does, request after request, and follows a reload of allowed_hosts', () => {
  const guard = new RequestGuard({ listenHost: '127.0.0.1', allowedHosts: [] });
  const check = (host: string | undefined): boolean => {
    try {
      guard.origin({ headers: host === undefined ? {} : { host } } as IncomingMessage);
      return true;
    } catch (err) {
      assert.equal((err as SpillwayError).code, 'host_not_allowed');
      return false;
    }
  };
  const hosts = ['127.0.0.1:8080', '127.0.0.1:8080', 'gw.local', 'gw.local', undefined, 'localhost', 'gw.local'];
  assert.deepEqual(hosts.map(check), [true, true, false, false, true, true, false]);
  guard.setAllowedHosts(['gw.local']);
  assert.deepEqual(hosts.map(check), [true, true, true, true, true, true, true]);
  guard.setAllowedHosts([]);
  assert.equal(check('gw.local'), false);
});
