// The Kubernetes manifests in deploy/, held to a real Tidepool. The YAML is parsed (the
// `yaml` package) and its objects must refer to each other (Service -> server pods, KEDA
// and the HPA -> the worker Deployment, Secret keys, the pool's name and concurrency).
// Then the server Deployment's command line and environment start a real `tidepool start`
// process on PostgreSQL, the KEDA ScaledObject's request (its URL with the host replaced,
// its bearer token from the TriggerAuthentication's Secret key, its valueLocation) reads
// the desired count, the prometheus-adapter rule and the HPA are evaluated over the real
// /metrics, and the worker Deployment's command line runs a real `tidepool worker` that
// drains the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { systemClock } from '../../src/core/index.ts';
import { tempDir } from '../server/helpers.ts';
import { freshSchema, pgSkip, schemaUrl } from '../store/postgres-helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(root, 'deploy');
const MAIN = join(root, 'src/cli/main.ts');
/** Where the image holds the handlers module (deploy/README.md); the fixture stands in for it. */
const HANDLERS_IN_IMAGE = '/app/handlers.ts';
const FIXTURE_HANDLERS = join(root, 'test/deploy/fixtures/handlers.ts');

// ---- the manifests ----------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; file: string; [key: string]: any };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []));
}

/** Every Kubernetes object in deploy/ (files named *-values.yaml are Helm values, kept apart). */
function loadDeploy(): { objects: Obj[]; values: Map<string, any> } {
  const objects: Obj[] = [];
  const values = new Map<string, any>();
  for (const file of yamlFiles(DEPLOY)) {
    const name = relative(DEPLOY, file);
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      assert.deepEqual(doc.errors.map((e) => e.message), [], `deploy/${name} parses as YAML`);
      const data = doc.toJS();
      if (data === null) continue;
      if (/-values\.ya?ml$/.test(name)) {
        values.set(name, data);
        continue;
      }
      for (const field of ['apiVersion', 'kind']) assert.equal(typeof data[field], 'string', `deploy/${name}: an object without ${field}`);
      assert.equal(typeof data.metadata?.name, 'string', `deploy/${name}: a ${data.kind} without metadata.name`);
      objects.push({ ...data, file: name });
    }
  }
  return { objects, values };
}

function one(objects: Obj[], kind: string, predicate: (o: Obj) => boolean = () => true, what = kind): Obj {
  const found = objects.filter((o) => o.kind === kind && predicate(o));
  assert.equal(found.length, 1, `deploy/ has exactly one ${what} (found ${found.map((o) => `${o.metadata.name} in ${o.file}`).join(', ') || 'none'})`);
  return found[0]!;
}

function deployment(objects: Obj[], command: 'start' | 'worker'): Obj {
  return one(objects, 'Deployment', (o) => o.spec.template.spec.containers[0].args?.[0] === command, `Deployment running tidepool ${command}`);
}

function container(d: Obj): { command: string[]; args: string[]; env?: any[]; ports?: any[]; volumeMounts?: any[] } {
  assert.equal(d.spec.template.spec.containers.length, 1, `${d.file}: one container`);
  return d.spec.template.spec.containers[0];
}

/** The value after `--flag` in a command line. */
function flag(args: string[], name: string): string {
  const i = args.indexOf(name);
  assert.ok(i >= 0 && i + 1 < args.length, `${name} is on the command line ${JSON.stringify(args)}`);
  return args[i + 1]!;
}

function secretValue(secret: Obj, key: string): string {
  const value = secret.stringData?.[key] ?? (secret.data?.[key] !== undefined ? Buffer.from(secret.data[key], 'base64').toString('utf8') : undefined);
  assert.equal(typeof value, 'string', `Secret ${secret.metadata.name} has the key ${key}`);
  return value;
}

/** A container's environment as the pod gets it (secretKeyRef resolved); `overrides` replaces Secret keys. */
function podEnv(c: { env?: any[] }, secret: Obj, overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else {
      const ref = e.valueFrom?.secretKeyRef;
      assert.ok(ref, `env ${e.name}: a value or a secretKeyRef`);
      assert.equal(ref.name, secret.metadata.name, `env ${e.name} reads the Secret of deploy/`);
      env[e.name] = overrides[ref.key] ?? secretValue(secret, ref.key);
    }
  }
  return env;
}

/** The one pool of deploy/'s server config, the one KEDA and the HPA scale. */
function remotePool(objects: Obj[]) {
  const cm = one(objects, 'ConfigMap');
  const config = JSON.parse(cm.data['config.json']);
  const remote = config.pools.filter((p: { kind?: string }) => p.kind === 'remote');
  assert.equal(remote.length, 1, 'the server config has one remote pool');
  return { config, pool: remote[0] as { name: string; types: string[]; minWorkers: number; maxWorkers: number } };
}

/** The flags a command's --help lists. */
function helpFlags(command: string): Set<string> {
  const run = spawnSync(process.execPath, [MAIN, command, '--help'], { encoding: 'utf8' });
  assert.equal(run.status, 0, `tidepool ${command} --help: ${run.stderr}`);
  return new Set(run.stdout.match(/--[a-z][a-z-]*/g) ?? []);
}

test('the manifests parse, refer to each other, and use flags the commands accept', () => {
  const { objects, values } = loadDeploy();
  const ns = one(objects, 'Namespace').metadata.name;
  for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, ns, `${o.kind} ${o.metadata.name} (${o.file}) is in namespace ${ns}`);
  const secret = one(objects, 'Secret');
  const server = deployment(objects, 'start');
  const workers = deployment(objects, 'worker');
  const service = one(objects, 'Service');
  const { config, pool } = remotePool(objects);

  // Each Deployment selects its own pods; the Service selects the server's, on its named port.
  for (const d of [server, workers]) {
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(d.spec.template.metadata.labels[k], v, `${d.metadata.name}: its pods carry ${k}=${v}`);
  }
  for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(server.spec.template.metadata.labels[k], v, `the Service selects the server pods (${k}=${v})`);
  assert.ok(Object.entries(service.spec.selector).some(([k, v]) => workers.spec.template.metadata.labels[k] !== v), 'the Service does not select the worker pods');
  {
    const sc = container(server);
    const wc = container(workers);
    const servicePort = service.spec.ports[0];
    const containerPort = sc.ports!.find((p) => p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort);
    assert.ok(containerPort, `the Service's targetPort ${servicePort.targetPort} is a port of the server container`);
    assert.equal(flag(sc.args, '--port'), String(containerPort.containerPort), 'the server listens on its containerPort');
    assert.equal(flag(sc.args, '--host'), '0.0.0.0', 'the server listens on the pod network');
    // A server off loopback needs API keys (src/server/auth.ts): the Secret gives them.
    assert.ok(podEnv(sc, secret).TIDEPOOL_API_KEYS, 'the server gets TIDEPOOL_API_KEYS');
    assert.match(podEnv(sc, secret).TIDEPOOL_STORE, /^postgres:\/\//, 'the server runs on PostgreSQL (TIDEPOOL_STORE)');
    const mount = sc.volumeMounts!.find((m) => flag(sc.args, '--config').startsWith(m.mountPath + '/'));
    assert.ok(mount, '--config names a file under a volume mount');
    const volume = server.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(volume.configMap.name, one(objects, 'ConfigMap').metadata.name, 'the config volume is the ConfigMap');
    for (const c of [sc, wc]) {
      assert.deepEqual(c.command, ['tidepool']);
      assert.equal(flag(c.args, '--handlers'), HANDLERS_IN_IMAGE);
    }

    // The worker pods reach the Service (same namespace: its short name) and join the pool.
    const workerUrl = new URL(flag(wc.args, '--url'));
    assert.equal(workerUrl.hostname, service.metadata.name);
    assert.equal(Number(workerUrl.port), servicePort.port);
    assert.equal(flag(wc.args, '--pool'), pool.name);
    assert.deepEqual(flag(wc.args, '--types').split(','), pool.types);
    assert.ok(podEnv(wc, secret).TIDEPOOL_API_KEY, 'the worker sends a key');
    assert.ok(config.server.adminTenants.length > 0, 'an admin tenant, whose workers claim every tenant\'s tasks');
    assert.equal(workers.spec.replicas, undefined, 'the worker Deployment leaves its replica count to the scaler');
    const concurrency = Number(flag(wc.args, '--concurrency'));

    // KEDA: the worker Deployment, the pool's desired endpoint on the Service's full name
    // (KEDA's pods live in another namespace), a target per pod of its concurrency.
    const so = one(objects, 'ScaledObject');
    assert.equal(so.spec.scaleTargetRef.name, workers.metadata.name);
    assert.equal(so.spec.triggers.length, 1);
    const trigger = so.spec.triggers[0];
    assert.equal(trigger.type, 'metrics-api');
    const kedaUrl = new URL(trigger.metadata.url);
    assert.match(kedaUrl.hostname, new RegExp(`^${service.metadata.name}\\.${ns}\\.svc(\\.cluster\\.local)?$`));
    assert.equal(Number(kedaUrl.port), servicePort.port);
    assert.equal(kedaUrl.pathname, `/v1/pools/${pool.name}/desired`);
    assert.equal(Number(trigger.metadata.targetValue), concurrency, 'targetValue = the pods\' --concurrency');
    assert.ok(so.spec.maxReplicaCount * concurrency <= pool.maxWorkers, 'maxReplicaCount x concurrency within the pool\'s maxWorkers');
    const auth = one(objects, 'TriggerAuthentication', (o) => o.metadata.name === trigger.authenticationRef?.name, `TriggerAuthentication ${trigger.authenticationRef?.name}`);
    for (const ref of auth.spec.secretTargetRef) {
      assert.equal(ref.name, secret.metadata.name);
      secretValue(secret, ref.key);
    }

    // The HPA: the same Deployment, the adapter rule's external metric, one pod per `concurrency` workers.
    const hpa = one(objects, 'HorizontalPodAutoscaler');
    assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', workers.metadata.name]);
    const metric = hpa.spec.metrics[0].external;
    assert.equal(metric.metric.selector.matchLabels.pool, pool.name);
    assert.equal(Number(metric.target.averageValue), concurrency);
    const rule = adapterRule(values);
    assert.equal(metric.metric.name, rule.name.as, 'the HPA\'s external metric is the one the adapter rule serves (name.as)');

    // Flags: each one on a command line is one the command accepts.
    for (const [c, command] of [[sc, 'start'], [wc, 'worker']] as const) {
      const known = helpFlags(command);
      for (const a of c.args.filter((x) => x.startsWith('--'))) assert.ok(known.has(a), `tidepool ${command} accepts ${a}`);
    }
  }
});

function adapterRule(values: Map<string, any>) {
  const adapter = [...values.values()].find((v) => v?.rules?.external);
  assert.ok(adapter, 'deploy/ has prometheus-adapter values with rules.external');
  assert.equal(adapter.rules.external.length, 1);
  return adapter.rules.external[0] as { seriesQuery: string; metricsQuery: string; resources?: { namespaced?: boolean }; name: { matches: string; as: string } };
}

// ---- a real server and worker from the manifests ------------------------------------

type Proc = { proc: ChildProcess; output: () => string; exited: Promise<number | null> };

/** Runs `tidepool ARGS` as its pod would: the container's environment alone (no inherited TIDEPOOL_*). */
function run(args: string[], env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

/** Waits for a cross-process outcome (no virtual clock reaches another process), up to a deadline. */
async function until<T>(what: string, read: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000, procs: Proc[] = []): Promise<T> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v) return v;
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => p.output()).join('\n---\n')}`);
    await systemClock.sleep(50);
  }
}

/** The subset of GJSON paths used here: dot-separated keys. */
function gjson(body: unknown, path: string): unknown {
  assert.match(path, /^[A-Za-z_]\w*(\.\w+)*$/, `valueLocation ${JSON.stringify(path)}: this test reads dotted keys only`);
  return path.split('.').reduce<any>((v, k) => (v === null || typeof v !== 'object' ? undefined : v[k]), body);
}

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** A PromQL selector `name{label op "value", ...}` or `{__name__="name", ...}`. */
function parseSelector(query: string): { name: string; matches: (s: Series) => boolean; labels: string[] } {
  const m = /^\s*([A-Za-z_:][\w:]*)?\s*(?:\{(.*)\})?\s*$/.exec(query);
  assert.ok(m, `seriesQuery ${JSON.stringify(query)}: a series selector`);
  const matchers = [...(m[2] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({ label: x[1]!, op: x[2]!, value: x[3]! }));
  const name = m[1] ?? matchers.find((x) => x.label === '__name__' && x.op === '=')?.value;
  assert.ok(name, `seriesQuery ${JSON.stringify(query)} names a metric`);
  const rest = matchers.filter((x) => x.label !== '__name__');
  const test1 = (v: string, x: { op: string; value: string }) =>
    x.op === '=' ? v === x.value : x.op === '!=' ? v !== x.value : x.op === '=~' ? new RegExp(`^(?:${x.value})$`).test(v) : !new RegExp(`^(?:${x.value})$`).test(v);
  return { name, labels: rest.map((x) => x.label), matches: (s) => s.name === name && rest.every((x) => test1(s.labels[x.label] ?? '', x)) };
}

/**
 * The external metric value the HPA gets: the adapter's rule evaluated over the server's
 * real /metrics, as prometheus-adapter would over the scraped series (Prometheus adds
 * target labels such as job and instance; the rule must not need any other).
 */
function adapterValue(rule: ReturnType<typeof adapterRule>, selector: Record<string, string>, exposition: Series[]): number {
  const sel = parseSelector(rule.seriesQuery);
  assert.match(sel.name, new RegExp(rule.name.matches), 'name.matches matches the series of seriesQuery');
  assert.equal(rule.resources?.namespaced, false, 'the rule needs no namespace label (/metrics has none; a namespaced rule adds a namespace matcher)');
  const series = exposition.filter(sel.matches);
  assert.ok(series.length > 0, `/metrics exposes ${rule.seriesQuery}`);
  assert.match(rule.metricsQuery, /<<\.Series>>\{<<\.LabelMatchers>>\}/);
  const agg = /^\s*(max|min|sum|avg)\s+by\s*\(([^)]*)\)\s*\(\s*<<\.Series>>\{<<\.LabelMatchers>>\}\s*\)\s*$/.exec(rule.metricsQuery);
  assert.ok(agg, `metricsQuery ${JSON.stringify(rule.metricsQuery)}: AGG by (labels) (<<.Series>>{<<.LabelMatchers>>})`);
  const byLabels = agg[2]!.split(',').map((l) => l.trim()).filter(Boolean);
  for (const l of [...sel.labels, ...byLabels, ...Object.keys(selector)]) assert.ok(series.every((s) => l in s.labels), `${sel.name} carries the label ${l} the rule or the HPA uses`);
  const picked = series.filter((s) => Object.entries(selector).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);
  assert.ok(picked.length > 0, `a series of ${sel.name} with ${JSON.stringify(selector)}`);
  const fn = { max: Math.max, min: Math.min, sum: (...v: number[]) => v.reduce((a, b) => a + b, 0), avg: (...v: number[]) => v.reduce((a, b) => a + b, 0) / v.length }[agg[1] as 'max'];
  return fn(...picked);
}

const pgSkipped = await pgSkip();

test('the KEDA request reads the desired count from the server the manifests start; the HPA route reads the same; the worker pods drain the queue', { skip: pgSkipped, timeout: 120_000 }, async () => {
  const { objects, values } = loadDeploy();
  const secret = one(objects, 'Secret');
  const serverC = container(deployment(objects, 'start'));
  const workerC = container(deployment(objects, 'worker'));
  const cm = one(objects, 'ConfigMap');
  const so = one(objects, 'ScaledObject');
  const trigger = so.spec.triggers[0];
  const auth = one(objects, 'TriggerAuthentication');
  const hpa = one(objects, 'HorizontalPodAutoscaler');
  const { pool } = remotePool(objects);
  const tmp = tempDir('tidepool-deploy-');
  const procs: Proc[] = [];
  try {
    // The server pod: its ConfigMap files where its mount puts them, the handlers of the
    // image, a fresh PostgreSQL schema for the Secret's store-url, any free port.
    const mountPath = serverC.volumeMounts![0].mountPath as string;
    for (const [file, text] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(tmp.dir, file), text);
    const serverArgs = serverC.args.map((a, i) =>
      a === HANDLERS_IN_IMAGE ? FIXTURE_HANDLERS : a.startsWith(mountPath + '/') ? join(tmp.dir, a.slice(mountPath.length + 1)) : serverC.args[i - 1] === '--port' ? '0' : a,
    );
    const server = run(serverArgs, podEnv(serverC, secret, { 'store-url': schemaUrl(freshSchema('tp_deploy')) }));
    procs.push(server);
    const port = await until('the server banner', () => /listening on http:\/\/[^\s]+:(\d+)/.exec(server.output())?.[1], 30_000, procs);
    const base = `http://127.0.0.1:${port}`;

    // Exactly KEDA's request: the trigger's URL on the test server, its auth, its JSON path.
    const token = secretValue(secret, auth.spec.secretTargetRef.find((r: { parameter: string }) => r.parameter === 'token').key);
    async function keda(): Promise<{ value: number; body: { desired: number; current: number } }> {
      const url = new URL(trigger.metadata.url);
      const headers: Record<string, string> = { accept: 'application/json' };
      assert.equal(trigger.metadata.authMode, 'bearer', 'the server has API keys: the trigger authenticates');
      headers.authorization = `Bearer ${token}`;
      const res = await fetch(base + url.pathname + url.search, { headers });
      const body = (await res.json()) as { desired: number; current: number };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(trigger.metadata.format ?? 'json', 'json');
      const value = gjson(body, trigger.metadata.valueLocation);
      assert.equal(typeof value, 'number', 'valueLocation points at a number (KEDA refuses anything else)');
      return { value: value as number, body };
    }
    /** The pod count KEDA asks for at a value (AverageValue: ceil(value / target); 0 below activation). */
    const kedaReplicas = (value: number) =>
      value <= Number(trigger.metadata.activationTargetValue ?? 0) ? so.spec.minReplicaCount : Math.min(so.spec.maxReplicaCount, Math.max(so.spec.minReplicaCount, Math.ceil(value / Number(trigger.metadata.targetValue))));

    const idle = await keda();
    assert.equal(idle.value, 0, 'an idle pool with minWorkers 0 asks for no worker: KEDA may scale to zero');
    assert.equal(kedaReplicas(idle.value), 0);

    // Tasks come from another tenant of the Secret's keys than the worker's and KEDA's.
    const pairs = secretValue(secret, 'api-keys').split(',').map((e) => e.trim().split('='));
    const submitterKey = pairs.map((p) => p[1]!).find((k) => k !== podEnv(workerC, secret).TIDEPOOL_API_KEY && k !== token);
    assert.ok(submitterKey, 'the Secret has a key for submitting tasks');
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${submitterKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const type = pool.types[0]!;
    assert.equal((await api('POST', '/v1/tasks', { type, payload: 0 })).status, 201);
    // The cold-start trap: one waiting task and no worker; at once (no autoscaler tick), desired >= 1.
    const first = await keda();
    assert.ok(first.value >= 1, `desired ${first.value} while a task waits`);
    assert.ok(kedaReplicas(first.value) >= 1, 'KEDA activates the worker Deployment');
    const rule = adapterRule(values);
    const selector = hpa.spec.metrics[0].external.metric.selector.matchLabels;
    const metricsNow = async () => parseExposition(await (await fetch(`${base}/metrics`)).text());
    assert.ok(adapterValue(rule, selector, await metricsNow()) >= 1, 'the gauge is never 0 while a task waits either');

    assert.equal((await api('POST', '/v1/tasks/batch', { tasks: Array.from({ length: 40 }, (_, i) => ({ type, payload: i + 1 })) })).status, 201);
    const moved = await until('desired to rise with the backlog', async () => {
      const r = await keda();
      assert.ok(r.value >= 1, `desired ${r.value} while 41 tasks wait`);
      return r.value > first.value && r;
    }, 20_000, procs);
    assert.ok(moved.value <= pool.maxWorkers);

    // The HPA route: the adapter's rule over the real /metrics gives the same count.
    await until('a steady desired count to compare with the gauge', async () => {
      const before = await keda();
      const exposition = await metricsNow();
      const after = await keda();
      if (before.value !== after.value) return false;
      assert.equal(adapterValue(rule, selector, exposition), before.value, 'the HPA reads what KEDA reads');
      return true;
    }, 20_000, procs);

    // The worker pod, from its Deployment's command line, reaches the server and drains the queue.
    const workerArgs = workerC.args.map((a, i) => (a === HANDLERS_IN_IMAGE ? FIXTURE_HANDLERS : workerC.args[i - 1] === '--url' ? base : a));
    const worker = run(workerArgs, podEnv(workerC, secret));
    procs.push(worker);
    await until('the worker to register', async () => (await keda()).body.current === Number(flag(workerC.args, '--concurrency')), 20_000, procs);
    const done = await until('all 41 tasks to succeed', async () => {
      const list = await api('GET', '/v1/tasks?status=succeeded&limit=100');
      return list.body.tasks.length === 41 && list.body.tasks;
    }, 60_000, procs);
    assert.deepEqual(done.find((t: { payload: number }) => t.payload === 7).result, { rendered: 7 });
    assert.doesNotMatch(worker.output(), /unknown|invalid/i);

    // A scale-down: SIGTERM drains the worker, which deregisters and exits 0; then the server.
    worker.proc.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.output());
    assert.equal((await keda()).body.current, 0);
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.output());
  } finally {
    for (const p of procs) p.proc.kill('SIGKILL');
    tmp.remove();
  }
});
