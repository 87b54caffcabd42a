/**
 * The deployment files parse and agree with each other: every manifest is valid YAML with a
 * known kind, kustomizations list files that exist, the Deployment's ConfigMap/Secret references
 * and keys exist, the Service selects the Deployment's pods, the ConfigMap's kbs-config.toml is a
 * config `trustee serve` accepts, and the Containerfile copies the bundle the build writes.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parse as parseToml } from "smol-toml";
import { parseKbsConfig } from "../trustee/kbs/config.ts";

const here = new URL("./kubernetes/", import.meta.url);
type Doc = { kind?: string; metadata?: { name?: string }; [k: string]: unknown };

async function load(dir: string): Promise<Map<string, Doc[]>> {
  const out = new Map<string, Doc[]>();
  for await (const e of Deno.readDir(new URL(`${dir}/`, here))) {
    if (!e.name.endsWith(".yaml")) continue;
    const text = await Deno.readTextFile(new URL(`${dir}/${e.name}`, here));
    const docs = parseAllDocuments(text);
    for (const d of docs) assert.deepEqual(d.errors, [], `${dir}/${e.name}`);
    out.set(e.name, docs.map((d) => d.toJS() as Doc));
  }
  return out;
}

const KINDS = new Set([
  "Kustomization",
  "Namespace",
  "ConfigMap",
  "Secret",
  "Deployment",
  "Service",
  "PodDisruptionBudget",
  "StatefulSet",
]);

function byKind(files: Map<string, Doc[]>, kind: string): Doc[] {
  return [...files.values()].flat().filter((d) => d.kind === kind);
}

const at = (v: unknown, ...path: (string | number)[]): unknown =>
  path.reduce((o: unknown, k) => (o as Record<string | number, unknown> | undefined)?.[k], v);

for (const dir of ["base", "postgres-dev"]) {
  Deno.test(`deploy/kubernetes/${dir}: every manifest parses, has a known kind and is listed`, async () => {
    const files = await load(dir);
    const kust = files.get("kustomization.yaml")?.[0];
    assert.ok(kust, "kustomization.yaml exists");
    const resources = at(kust, "resources") as string[];
    assert.deepEqual(
      [...resources].sort(),
      [...files.keys()].filter((f) => f !== "kustomization.yaml").sort(),
    );
    for (const [name, docs] of files) {
      for (const d of docs) {
        assert.ok(KINDS.has(d.kind ?? ""), `${name}: kind ${d.kind}`);
        if (d.kind !== "Kustomization") assert.ok(d.metadata?.name, `${name}: metadata.name`);
      }
    }
  });
}

Deno.test("deploy/kubernetes/base: the Deployment's references resolve and the Service selects its pods", async () => {
  const files = await load("base");
  const [deploy] = byKind(files, "Deployment");
  const [service] = byKind(files, "Service");
  const configMaps = new Map(byKind(files, "ConfigMap").map((d) => [d.metadata!.name!, d]));
  const secrets = new Map(byKind(files, "Secret").map((d) => [d.metadata!.name!, d]));
  const pod = at(deploy, "spec", "template");
  assert.ok((at(deploy, "spec", "replicas") as number) >= 2, "more than one replica");
  assert.deepEqual(at(deploy, "spec", "selector", "matchLabels"), at(pod, "metadata", "labels"));
  assert.deepEqual(at(service, "spec", "selector"), at(pod, "metadata", "labels"));
  const container = at(pod, "spec", "containers", 0) as {
    ports: { name: string }[];
    env: { valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  };
  const portNames = container.ports.map((p) => p.name);
  for (const p of at(service, "spec", "ports") as { targetPort: string }[]) {
    assert.ok(portNames.includes(p.targetPort));
  }
  for (const v of at(pod, "spec", "volumes") as Record<string, Record<string, string>>[]) {
    if (v.configMap) assert.ok(configMaps.has(v.configMap.name!), `ConfigMap ${v.configMap.name}`);
    if (v.secret) assert.ok(secrets.has(v.secret.secretName!), `Secret ${v.secret.secretName}`);
  }
  for (const e of container.env) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) continue;
    assert.ok(
      at(secrets.get(ref.name), "stringData", ref.key) !== undefined,
      `${ref.name}/${ref.key}`,
    );
  }
  // Every file path the config names is a key of the mounted Secret.
  const toml = at(configMaps.get("trustee-config"), "data", "kbs-config.toml") as string;
  const keys = Object.keys(at(secrets.get("trustee-keys"), "stringData") as object);
  for (const m of toml.matchAll(/"\/etc\/trustee\/keys\/([^"]+)"/g)) {
    assert.ok(keys.includes(m[1]!), `secret key ${m[1]}`);
  }
});

Deno.test("deploy/kubernetes/base: the ConfigMap's kbs-config.toml is a config trustee accepts", async () => {
  const files = await load("base");
  const cm = byKind(files, "ConfigMap")[0];
  const config = parseKbsConfig(
    parseToml(at(cm, "data", "kbs-config.toml") as string),
    "configmap.yaml",
  );
  assert.equal(config.storage_backend.type, "Postgres");
  assert.equal(config.session_storage.type, "Postgres", "sessions are shared by the replicas");
  assert.equal(config.http_server.insecure_http, false);
  assert.equal(config.attestation_service.signer?.key_path, "/etc/trustee/keys/token.key");
  assert.equal(config.admin.mode, "AuthenticatedAuthorization");
});

Deno.test("deploy/Containerfile copies the bundle scripts/build.ts writes", async () => {
  const file = await Deno.readTextFile(new URL("./Containerfile", import.meta.url));
  const build = await Deno.readTextFile(new URL("../scripts/build.ts", import.meta.url));
  assert.match(file, /^COPY dist\/trustee\.js /m);
  assert.match(build, /name: "trustee", entry: "trustee\/main\.ts"/);
  assert.match(build, /dist\/\$\{exe\.name\}\.js/);
  assert.match(file, /^CMD \["serve", "-c", "\/etc\/trustee\/kbs-config\.toml"\]$/m);
});
