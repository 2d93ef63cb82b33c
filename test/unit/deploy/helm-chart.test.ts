import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../../src/config/load.ts';
import { needTool, runTool } from '../../helpers/tools.ts';

const CHART = 'deploy/helm/spillway';
const HELM_INSTALL = 'go install helm.sh/helm/v3/cmd/helm@v3.22.0';
/** The chart asks for Kubernetes >= 1.25; helm built by `go install` defaults to an older version, so name one. */
const KUBE_VERSION = '1.30.0';
const ALL_ON = ['--set', 'autoscaling.enabled=true', '--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true', '--set', 'secret.create=true', '--set', 'secret.values.DEEPSEEK_API_KEY=sk-test'];
const POD_ENV = { DEEPSEEK_API_KEY: 'sk-test-deepseek-key', SPILLWAY_API_KEY: 'gateway-key-for-tests', SPILLWAY_ADMIN_KEY: 'admin-key-for-tests', REDIS_URL: 'redis://redis:6379' };

// A loose view of the Kubernetes objects: the checks below read the fields they need.
type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

async function render(t: TestContext, args: string[] = []): Promise<Obj[] | undefined> {
  const helm = needTool(t, 'helm', HELM_INSTALL);
  if (helm === undefined) return undefined;
  const { stdout } = await runTool(helm, ['template', 'gw', CHART, '--namespace', 'llm', '--kube-version', KUBE_VERSION, ...args]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function only(objs: Obj[], kind: string): Obj {
  const found = objs.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as Obj;
}

function subset(sel: Record<string, string>, labels: Record<string, string>, what: string): void {
  assert.ok(Object.keys(sel).length > 0, `${what} selects something`);
  for (const [k, v] of Object.entries(sel)) assert.equal(labels[k], v, `${what} selects the pods (${k})`);
}

test('helm lint --strict passes on the chart', async (t) => {
  const helm = needTool(t, 'helm', HELM_INSTALL);
  if (helm === undefined) return;
  const { stdout } = await runTool(helm, ['lint', '--strict', CHART, '--kube-version', KUBE_VERSION, ...ALL_ON]);
  assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('every rendered object validates against the Kubernetes schemas (kubernetes-validate --strict)', async (t) => {
  const validate = needTool(t, 'kubernetes-validate', 'python3 -m pip install kubernetes-validate');
  for (const args of [[], ALL_ON]) {
    const objs = await render(t, args);
    if (objs === undefined || validate === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), 'spillway-helm-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // Prometheus Operator kinds have no schema in the package; their shape is checked by the tests below.
    const core = objs.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, core.map((o) => JSON.stringify(o)).join('\n---\n'));
    const { stdout, stderr } = await runTool(validate, ['--strict', '-k', KUBE_VERSION, file]);
    const passed = [...`${stdout}\n${stderr}`.matchAll(/passed for resource (\S+)/g)].map((m) => m[1]);
    assert.equal(passed.length, core.length, `every object passed: ${passed.join(', ')}`);
  }
});

test('the chart renders a Deployment, Service, ConfigMap, ServiceAccount and PDB that select the same pods', async (t) => {
  const objs = await render(t);
  if (objs === undefined) return;
  assert.deepEqual(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
  const dep = only(objs, 'Deployment');
  assert.equal(dep.spec.replicas, 2, 'replicaCount without autoscaling');
  const podLabels = dep.spec.template.metadata.labels as Record<string, string>;
  subset(dep.spec.selector.matchLabels, podLabels, 'the Deployment');
  subset(only(objs, 'Service').spec.selector, podLabels, 'the Service');
  const pdb = only(objs, 'PodDisruptionBudget');
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.equal(pdb.spec.maxUnavailable, 1);
  subset(pdb.spec.selector.matchLabels, podLabels, 'the PodDisruptionBudget');
  assert.equal(dep.spec.template.spec.serviceAccountName, only(objs, 'ServiceAccount').metadata.name);
  assert.equal(dep.spec.template.spec.containers[0].envFrom[0].secretRef.name, 'spillway-secrets', 'the existing Secret by default');
});

test("the pod's probes, ports, drain timing and mounted config agree with the config Spillway loads", async (t) => {
  for (const args of [[], ['--set', 'drainGraceSeconds=90', '--set', 'preStopSleepSeconds=10', '--set', 'containerPort=9000']]) {
    const objs = await render(t, args);
    if (objs === undefined) return;
    const cm = only(objs, 'ConfigMap');
    // The real loader, as the pod would run it, on the rendered file.
    const config = parseConfigText(cm.data?.['spillway.yaml'] ?? '', 'configmap spillway.yaml', POD_ENV);
    const pod = only(objs, 'Deployment').spec.template.spec;
    const c = pod.containers[0];
    assert.equal(config.server.host, '0.0.0.0');
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: config.server.port, protocol: 'TCP' }]);
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.equal(only(objs, 'Service').spec.ports[0].targetPort, 'http');
    const sleepMs = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(c.lifecycle.preStop.exec.command.join(' '))?.[1]);
    assert.ok(sleepMs > 0, 'a preStop pause before SIGTERM');
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > sleepMs + config.server.drainGraceMs, `terminationGracePeriodSeconds (${pod.terminationGracePeriodSeconds}s) outlasts the preStop pause and server.drain_grace`);
    assert.deepEqual(c.args, ['start', '--config', '/etc/spillway/spillway.yaml']);
    const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/etc/spillway');
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(volume.configMap.name, cm.metadata.name);
    assert.ok(config.state.redis !== null, 'several pods share limits and account caps through Redis');
  }
});

test('the pod runs as a numeric non-root user with a read-only root filesystem and no API token', async (t) => {
  const objs = await render(t);
  if (objs === undefined) return;
  const pod = only(objs, 'Deployment').spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(typeof pod.securityContext.runAsUser, 'number');
  assert.notEqual(pod.securityContext.runAsUser, 0);
  const sc = pod.containers[0].securityContext;
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  assert.equal(pod.automountServiceAccountToken, false);
  assert.ok(pod.volumes.some((v: { name: string; emptyDir?: unknown }) => v.name === 'tmp' && v.emptyDir !== undefined), 'a writable /tmp');
});

test('with autoscaling on, an autoscaling/v2 HPA scales the Deployment on in-flight and queue depth per pod', async (t) => {
  const objs = await render(t, ALL_ON);
  if (objs === undefined) return;
  const dep = only(objs, 'Deployment');
  assert.equal(dep.spec.replicas, undefined, 'the HPA owns the replica count');
  const hpa = only(objs, 'HorizontalPodAutoscaler');
  assert.equal(hpa.apiVersion, 'autoscaling/v2');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
  assert.deepEqual(hpa.spec.metrics.map((m: { type: string; pods: { metric: { name: string }; target: unknown } }) => [m.type, m.pods.metric.name, m.pods.target]), [
    ['Pods', 'spillway_in_flight', { type: 'AverageValue', averageValue: '200' }],
    ['Pods', 'spillway_queue_depth', { type: 'AverageValue', averageValue: '20' }],
  ]);
  assert.ok(hpa.spec.minReplicas >= 1 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
  assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
  const cpu = await render(t, [...ALL_ON, '--set', 'autoscaling.inFlightPerPod=null', '--set', 'autoscaling.queueDepthPerPod=null', '--set', 'autoscaling.cpuUtilizationPercent=70']);
  assert.deepEqual(only(cpu ?? [], 'HorizontalPodAutoscaler').spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
});

test('the optional ServiceMonitor scrapes the Service port and the PrometheusRule carries alerts.yml unchanged', async (t) => {
  const objs = await render(t, ALL_ON);
  if (objs === undefined) return;
  const sm = only(objs, 'ServiceMonitor');
  const svc = only(objs, 'Service');
  assert.deepEqual(sm.spec.endpoints.map((e: { port: string; path: string }) => [e.port, e.path]), [['http', '/metrics']]);
  assert.ok(svc.spec.ports.some((p: { name: string }) => p.name === 'http'));
  subset(sm.spec.selector.matchLabels, svc.metadata.labels ?? {}, 'the ServiceMonitor');
  const rule = only(objs, 'PrometheusRule');
  const alerts = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: unknown };
  assert.deepEqual(rule.spec.groups, alerts.groups, 'the same rules promtool tests, their {{ $labels }} templates intact');
  const secret = only(objs, 'Secret');
  assert.deepEqual(secret.stringData, { DEEPSEEK_API_KEY: 'sk-test' });
  assert.equal(only(objs, 'Deployment').spec.template.spec.containers[0].envFrom[0].secretRef.name, secret.metadata.name);
});

test('the chart refuses values that would disagree with its probes, drain timing or autoscaling', async (t) => {
  const helm = needTool(t, 'helm', HELM_INSTALL);
  if (helm === undefined) return;
  const base = ['template', 'gw', CHART, '--kube-version', KUBE_VERSION];
  await assert.rejects(runTool(helm, [...base, '--set', 'config.server.port=9999']), /config\.server\.port is set by the chart: use the containerPort \/ drainGraceSeconds values instead/);
  await assert.rejects(runTool(helm, [...base, '--set', 'config.server.drain_grace=5s']), /config\.server\.drain_grace is set by the chart/);
  await assert.rejects(runTool(helm, [...base, '--set', 'autoscaling.enabled=true', '--set', 'autoscaling.inFlightPerPod=null', '--set', 'autoscaling.queueDepthPerPod=null']), /autoscaling\.enabled needs at least one of/);
  // Other server keys pass through.
  const objs = await render(t, ['--set', 'config.server.default_deadline=2m']);
  const config = parseConfigText(only(objs ?? [], 'ConfigMap').data?.['spillway.yaml'] ?? '', 'configmap', POD_ENV);
  assert.equal(config.server.defaultDeadlineMs, 120_000);
});

test('the chart cannot render a config that starts as an open proxy: keys come from the Secret, an empty key list is refused', async (t) => {
  const objs = await render(t);
  if (objs === undefined) return;
  const config = parseConfigText(only(objs, 'ConfigMap').data?.['spillway.yaml'] ?? '', 'configmap', POD_ENV);
  assert.ok(config.auth.keys.length > 0, 'gateway keys');
  assert.notEqual(config.admin.key, null, 'an admin key');
  assert.throws(() => parseConfigText(only(objs, 'ConfigMap').data?.['spillway.yaml'] ?? '', 'configmap', { ...POD_ENV, SPILLWAY_API_KEY: '' }), /SPILLWAY_API_KEY is not set/);
  const open = await render(t, ['--set-json', 'config.auth.keys=[]']);
  assert.throws(() => parseConfigText(only(open ?? [], 'ConfigMap').data?.['spillway.yaml'] ?? '', 'configmap', POD_ENV), /server\.host .*got "0\.0\.0\.0", which is not a loopback address, so Spillway refuses to start without auth\.keys/);
});
