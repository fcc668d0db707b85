// Validates vitals' Kubernetes manifests offline, with no cluster: renders the kustomize base
// and every overlay with `kubectl kustomize`, then for every object
//   1. the Kubernetes schemas (kubernetes-models, prometheus-operator models): types, enums,
//      required fields, quantities;
//   2. TypeScript's excess-property check against the same models' interfaces: a mistyped
//      field name (which no schema rejects) fails to compile;
//   3. what neither checks and a pod depends on: selectors match labels, images are set, the
//      sidecar is native in the base and an ordinary container in the overlay, probes point at
//      vitals' endpoints (liveness never at /readyz), Services and PodMonitors find their
//      ports, and every vitals configuration passes `vitals --check-config`;
//   4. every pod passes the Pod Security "restricted" rules, with no service-account token
//      and one scrape mechanism; the component applied to a plain Deployment (validate/plain)
//      gets the same; the PrometheusRule holds rules.yaml's groups; the dashboard has queries.
// Usage: node validate.mjs [path/to/vitals]   (exit 1 on any problem, each one listed)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import * as apps from "kubernetes-models/apps/v1";
import * as core from "kubernetes-models/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as gateway from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1";

const here = path.dirname(fileURLToPath(import.meta.url));
const k8s = path.resolve(here, "..");
const vitals = process.argv[2];
const trees = ["base", "overlays/no-native-sidecar", "monitoring", "validate/plain",
               "validate/install", "uptime"];

const models = {
  "apps/v1/Deployment": [apps.Deployment, "kubernetes-models/apps/v1", "IDeployment"],
  "v1/Service": [core.Service, "kubernetes-models/v1", "IService"],
  "v1/ConfigMap": [core.ConfigMap, "kubernetes-models/v1", "IConfigMap"],
  "networking.k8s.io/v1/NetworkPolicy": [
    networking.NetworkPolicy, "kubernetes-models/networking.k8s.io/v1", "INetworkPolicy"],
  "networking.k8s.io/v1/Ingress": [
    networking.Ingress, "kubernetes-models/networking.k8s.io/v1", "IIngress"],
  "gateway.networking.k8s.io/v1beta1/HTTPRoute": [
    gateway.HTTPRoute, "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1",
    "IHTTPRoute"],
  "monitoring.coreos.com/v1/PodMonitor": [
    monitoring.PodMonitor, "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
    "IPodMonitor"],
  "monitoring.coreos.com/v1/PrometheusRule": [
    monitoring.PrometheusRule, "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
    "IPrometheusRule"],
};

const problems = [];
const rows = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);

function render(tree) {
  const out = execFileSync("kubectl", ["kustomize", path.join(k8s, tree)], { encoding: "utf8" });
  return parseAllDocuments(out).map((d) => d.toJS());
}

function subset(small, big) {
  return Object.entries(small ?? {}).every(([k, v]) => big?.[k] === v);
}

function schemaPass(tree, obj) {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const where = `${tree} ${obj.kind}/${obj.metadata?.name}`;
  const model = models[key];
  if (!model) return fail(where, `no schema known for ${key}`);
  try {
    new model[0](obj).validate();
    rows.push([tree, obj.kind, obj.metadata.name, "schema ok"]);
  } catch (e) {
    fail(where, `schema: ${e.message}`);
  }
}

// One TypeScript file per tree: every object as a literal of its model's interface.
function typePass(tree, objects) {
  const imports = new Set();
  const lines = [];
  objects.forEach((obj, i) => {
    const model = models[`${obj.apiVersion}/${obj.kind}`];
    if (!model) return;
    imports.add(`import type { ${model[2]} } from "${model[1]}";`);
    lines.push(`export const object${i}: ${model[2]} = ${JSON.stringify(obj, null, 2)};`);
  });
  const dir = mkdtempSync(path.join(here, ".typecheck-"));
  try {
    const file = path.join(dir, "objects.ts");
    writeFileSync(file, [...imports, ...lines].join("\n") + "\n");
    const tsc = spawnSync(
      process.execPath,
      [path.join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict",
       "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
       "--skipLibCheck", file],
      { encoding: "utf8" });
    if (tsc.status !== 0) {
      for (const line of (tsc.stdout + tsc.stderr).split("\n").filter((l) => l.includes("error")))
        fail(`${tree} (types)`, line.replace(file, "objects.ts"));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function probePath(container, probe) {
  return container?.[probe]?.httpGet?.path;
}

// Pod Security Standards, "restricted" profile (Kubernetes 1.29), as the admission
// controller applies it to a pod template.
const allowedVolumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                        "persistentVolumeClaim", "projected", "secret"];
function restricted(where, spec) {
  for (const host of ["hostNetwork", "hostPID", "hostIPC"])
    if (spec[host]) fail(where, `restricted: ${host} is not allowed`);
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!allowedVolumes.includes(type)) fail(where, `restricted: volume type ${type}`);
  }
  const pod = spec.securityContext ?? {};
  if (pod.runAsUser === 0) fail(where, "restricted: the pod runs as root");
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const it = `${where} container ${c.name}`;
    if (sc.privileged) fail(it, "restricted: privileged");
    if (sc.allowPrivilegeEscalation !== false) fail(it, "restricted: allowPrivilegeEscalation must be false");
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) fail(it, "restricted: runAsNonRoot must be true");
    if (sc.runAsUser === 0) fail(it, "restricted: runAsUser 0");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(it, "restricted: capabilities must drop ALL");
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== "NET_BIND_SERVICE") fail(it, `restricted: capability ${cap}`);
    const seccomp = (sc.seccompProfile ?? pod.seccompProfile)?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      fail(it, "restricted: seccompProfile must be RuntimeDefault or Localhost");
    for (const p of c.ports ?? []) if (p.hostPort) fail(it, "restricted: hostPort");
  }
}

function podChecks(tree, objects) {
  const native = !tree.startsWith("overlays/no-native-sidecar");
  const configMaps = new Map(
    objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o]));
  const pods = [];
  for (const d of objects.filter((o) => o.kind === "Deployment")) {
    const where = `${tree} Deployment/${d.metadata.name}`;
    const pod = d.spec.template;
    pods.push(pod);
    if (!subset(d.spec.selector.matchLabels, pod.metadata.labels))
      fail(where, "selector does not match the pod template's labels");
    const inits = pod.spec.initContainers ?? [];
    const containers = pod.spec.containers ?? [];
    for (const c of [...inits, ...containers]) if (!c.image) fail(where, `${c.name} has no image`);
    const sidecar = native ? inits.find((c) => c.name === "vitals")
                           : containers.find((c) => c.name === "vitals");
    if (!sidecar) {
      fail(where, native ? "vitals is not an init container" : "vitals is not a container");
      continue;
    }
    if (native && sidecar.restartPolicy !== "Always")
      fail(where, "vitals needs restartPolicy: Always to be a native sidecar");
    if (!native && (inits.some((c) => c.name === "vitals") || "restartPolicy" in sidecar))
      fail(where, "the overlay still has a native sidecar");
    if (probePath(sidecar, "livenessProbe") !== "/vitalz")
      fail(where, "vitals' own liveness must be /vitalz (/livez would restart it for the app)");
    const app = containers.find((c) => c.name !== "vitals");
    const port = (c, probe) => c?.[probe]?.httpGet?.port;
    for (const [probe, want] of [["livenessProbe", "/livez"], ["startupProbe", "/startupz"]]) {
      if (probePath(app, probe) !== want || port(app, probe) !== 8686)
        fail(where, `${app.name}'s ${probe} must ask vitals' ${want} on 8686`);
    }
    // No silent always-pass: unless the pod says it serves no HTTP app (VITALS_APP_URL ""),
    // the gunicorn check watches the app, so /livez can fail.
    const appUrl = (sidecar.env ?? []).find((e) => e.name === "VITALS_APP_URL");
    if (!appUrl) fail(where, "the sidecar sets no VITALS_APP_URL: /livez would always pass");
    else if (d.metadata.name !== "worker" && !appUrl.value)
      fail(where, "VITALS_APP_URL is empty in a pod that serves HTTP");
    else if (d.metadata.name === "worker" && appUrl.value)
      fail(where, "a worker serves no HTTP: its VITALS_APP_URL must be empty");
    if (tree === "validate/install" && !sidecar.image.startsWith("registry.example.com/"))
      fail(where, `images: did not name the pushed image (${sidecar.image})`);
    if (d.metadata.name === "web") {
      if (probePath(app, "readinessProbe") !== "/readyz")
        fail(where, "the web container's readinessProbe must ask vitals' /readyz");
      if (pod.spec.shareProcessNamespace !== true)
        fail(where, "the gunicorn check needs shareProcessNamespace to see Gunicorn's workers");
    }
    for (const v of pod.spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name))
        fail(where, `volume ${v.name} names a ConfigMap that is not rendered: ${v.configMap.name}`);
      if (v.configMap) configCheck(tree, configMaps.get(v.configMap.name), sidecar);
    }
    restricted(where, pod.spec);
    if (pod.spec.automountServiceAccountToken !== false)
      fail(where, "vitals needs no service-account token: automountServiceAccountToken: false");
    if (Object.keys(pod.metadata.annotations ?? {}).some((k) => k.startsWith("prometheus.io/")))
      fail(where, "prometheus.io/* annotations and the PodMonitor would scrape vitals twice");
    rows.push([tree, "Deployment", d.metadata.name,
               `${native ? "native sidecar" : "sidecar container"}, restricted`]);
  }
  for (const s of objects.filter((o) => o.kind === "Service")) {
    const pod = pods.find((p) => subset(s.spec.selector, p.metadata.labels));
    if (!pod) { fail(`${tree} Service/${s.metadata.name}`, "selects no pod"); continue; }
    const named = [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
      .flatMap((c) => c.ports ?? []).map((p) => p.name);
    for (const p of s.spec.ports)
      if (typeof p.targetPort === "string" && !named.includes(p.targetPort))
        fail(`${tree} Service/${s.metadata.name}`, `no container port named ${p.targetPort}`);
  }
  for (const m of objects.filter((o) => o.kind === "PodMonitor")) {
    const selected = pods.filter((p) => subset(m.spec.selector.matchLabels, p.metadata.labels));
    if (selected.length === 0) fail(`${tree} PodMonitor/${m.metadata.name}`, "selects no pod");
    // Prometheus selects PodMonitors by label: one without labels is ignored without a word.
    if (!m.metadata.labels || !m.metadata.labels.release)
      fail(`${tree} PodMonitor/${m.metadata.name}`,
           "has no release label, which kube-prometheus-stack's Prometheus selects by");
  }
}

// The PrometheusRule ships the same groups as the plain rules file that promtool tests, and
// the dashboard ConfigMap is one Grafana's sidecar picks up, with a query in every panel.
// What goes out to the internet: /health and /health/ on vitals' port, nothing else.
function uptimeChecks(tree, objects) {
  const allowed = new Set(["/health", "/health/"]);
  for (const o of objects.filter((x) => x.kind === "Ingress" || x.kind === "HTTPRoute")) {
    const where = `${tree} ${o.kind}/${o.metadata.name}`;
    const routes = o.kind === "Ingress"
      ? (o.spec.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => ({
          path: p.path, exact: p.pathType === "Exact", port: p.backend?.service?.port?.name}))
      : (o.spec.rules ?? []).flatMap((r) => (r.matches ?? []).flatMap((m) =>
          (r.backendRefs ?? []).map((b) => ({
            path: m.path?.value, exact: m.path?.type === "Exact", port: b.port}))));
    const wrong = routes.filter((r) => !allowed.has(r.path) || !r.exact ||
                                       (r.port !== "vitals" && r.port !== 8686));
    if (routes.length === 0) fail(where, "routes nothing");
    else if (wrong.length > 0)
      fail(where, `exposes more than /health on vitals' port: ${JSON.stringify(wrong)}`);
    else rows.push([tree, o.kind, o.metadata.name, `only ${[...allowed].join(" and ")}, exact`]);
  }
}

function monitoringChecks(tree, objects) {
  for (const r of objects.filter((o) => o.kind === "PrometheusRule")) {
    const plain = parseYaml(readFileSync(path.join(k8s, "monitoring/rules.yaml"), "utf8"));
    if (!isDeepStrictEqual(r.spec.groups, plain.groups))
      fail(`${tree} PrometheusRule/${r.metadata.name}`, "groups differ from monitoring/rules.yaml");
    else rows.push([tree, "PrometheusRule", r.metadata.name, "same groups as rules.yaml"]);
  }
  for (const c of objects.filter((o) => o.kind === "ConfigMap" && o.metadata.labels?.grafana_dashboard)) {
    const where = `${tree} ConfigMap/${c.metadata.name}`;
    for (const [file, text] of Object.entries(c.data ?? {})) {
      let dashboard;
      try { dashboard = JSON.parse(text); } catch (e) { fail(where, `${file}: ${e.message}`); continue; }
      const empty = (dashboard.panels ?? []).filter((p) => !(p.targets ?? []).every((t) => t.expr));
      // Two apps' checks must not merge: every query is scoped by the variables.
      const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
      const missing = ["datasource", "cluster", "namespace", "job"].filter((v) => !variables.includes(v));
      const unscoped = (dashboard.panels ?? []).filter((p) => !(p.targets ?? []).every(
        (t) => ["$cluster", "$namespace", "$job"].every((v) => t.expr.includes(v))));
      // Every panel links to the docs page of its check kind, under the docs variable, and
      // the page exists in this repository.
      const docs = path.join(k8s, "..", "docs");
      const unlinked = (dashboard.panels ?? []).filter((p) => !(p.links ?? []).some((l) => {
        const m = /^\$\{docs\}\/([^#]+)/.exec(l.url ?? "");
        return m && existsSync(path.join(docs, m[1]));
      }));
      if (!variables.includes("docs")) fail(where, `${file}: no docs variable for the panels' links`);
      else if (unlinked.length > 0)
        fail(where, `${file}: no link to an existing docs page: ${unlinked.map((p) => p.title).join(", ")}`);
      if (!dashboard.uid || (dashboard.panels ?? []).length === 0 || empty.length > 0)
        fail(where, `${file}: a dashboard needs a uid and panels that each have a query`);
      else if (missing.length > 0)
        fail(where, `${file}: no ${missing.join(", ")} variable`);
      else if (unscoped.length > 0)
        fail(where, `${file}: not scoped by $cluster, $namespace and $job: ${unscoped.map((p) => p.title).join(", ")}`);
      else rows.push([tree, "ConfigMap", c.metadata.name, `dashboard, ${dashboard.panels.length} panels`]);
    }
  }
}

// The configuration vitals will read must load: checked by vitals itself.
const checkedConfigs = new Set();
function configCheck(tree, configMap, sidecar) {
  if (!configMap || !vitals || checkedConfigs.has(configMap.metadata.name)) return;
  checkedConfigs.add(configMap.metadata.name);
  const dir = mkdtempSync(path.join(here, ".config-"));
  try {
    const file = path.join(dir, "config.json");
    writeFileSync(file, configMap.data["config.json"]);
    const env = {
      PATH: process.env.PATH,
      HOSTNAME: "worker-0",  // the pod name, which the kubelet sets
      DATABASE_URL: "postgres://shop:secret@db:5432/shop",
      REDIS_URL: "redis://cache:6379/1",
      CELERY_BROKER_URL: "amqp://shop:secret@mq:5672//",
    };
    for (const e of sidecar.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    env.VITALS_CONFIG = file;
    const run = spawnSync(vitals, ["--check-config"], { encoding: "utf8", env });
    if (run.error) fail(`${tree} ConfigMap/${configMap.metadata.name}`, `cannot run ${vitals}: ${run.error.message}`);
    else if (run.status !== 0) fail(`${tree} ConfigMap/${configMap.metadata.name}`, run.stderr.trim());
    else rows.push([tree, "ConfigMap", configMap.metadata.name,
                    `vitals --check-config: ${Object.keys(JSON.parse(run.stdout).checks).length} checks`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const tree of trees) {
  let objects;
  try {
    objects = render(tree);
  } catch (e) {
    fail(tree, `kubectl kustomize failed: ${e.message}`);
    continue;
  }
  objects.forEach((o) => schemaPass(tree, o));
  typePass(tree, objects);
  podChecks(tree, objects);
  monitoringChecks(tree, objects);
  uptimeChecks(tree, objects);
}

for (const [tree, kind, name, result] of rows)
  console.log(`${tree.padEnd(28)} ${kind.padEnd(14)} ${name.padEnd(26)} ${result}`);
if (problems.length > 0) {
  console.error(`\n${problems.length} problem(s):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`\nall ${trees.length} trees valid`);
