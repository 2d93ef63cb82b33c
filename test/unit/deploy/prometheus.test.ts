import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { needTool, runTool } from '../../helpers/tools.ts';

const INSTALL = 'apt-get install -y prometheus';

test('promtool check rules accepts the alert rules', async (t) => {
  const promtool = needTool(t, 'promtool', INSTALL);
  if (promtool === undefined) return;
  const { stdout } = await runTool(promtool, ['check', 'rules', 'deploy/prometheus/alerts.yml']);
  assert.match(stdout, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: each alert fires on the series it is about and not on look-alikes', async (t) => {
  const promtool = needTool(t, 'promtool', INSTALL);
  if (promtool === undefined) return;
  const { stdout } = await runTool(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: 'deploy/prometheus' });
  assert.match(stdout, /SUCCESS/);
  // Every alert of the rules file has at least one test that expects it to fire.
  const rules = (parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
  const tests = parse(readFileSync('deploy/prometheus/alerts.test.yml', 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const fired = new Set(tests.tests.flatMap((c) => c.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
  for (const a of rules) assert.ok(fired.has(a), `alerts.test.yml has a case where ${a} fires`);
});

test('promtool check config accepts the Compose Prometheus config, which scrapes spillway:8080/metrics', async (t) => {
  const config = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
  };
  const job = config.scrape_configs.find((j) => j.job_name === 'spillway');
  assert.ok(job, 'a spillway scrape job (the alerts select job="spillway")');
  assert.equal(job.metrics_path, '/metrics');
  assert.deepEqual(job.static_configs.flatMap((s) => s.targets), ['spillway:8080']);
  assert.deepEqual(config.rule_files, ['/etc/prometheus/alerts.yml'], 'the path compose.yaml mounts alerts.yml at');

  const promtool = needTool(t, 'promtool', INSTALL);
  if (promtool === undefined) return;
  // The rule file lives at its in-container path; point a copy at the repository's file.
  const dir = mkdtempSync(join(tmpdir(), 'spillway-prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'prometheus.yml'), stringify({ ...config, rule_files: [resolve('deploy/prometheus/alerts.yml')] }));
  const { stdout } = await runTool(promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
  assert.match(stdout, /SUCCESS/);
});
