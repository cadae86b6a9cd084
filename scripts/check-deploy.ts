// Static checks of the deployment files (DESIGN.md §7, §9): docker-compose.yml, Dockerfile,
// envoy/, istio/ and helm/consorcio/ cannot run here (no Docker, Envoy, Kubernetes or Helm),
// so this reads them and cross-checks them against the service catalog and the repository:
//
// - every YAML file parses (multi-document where Kubernetes allows it; Helm templates are Go
//   templates and are checked as text);
// - helm/consorcio/values.yaml is valid against values.schema.json (JSON Schema draft-07, ajv),
//   and every `.Values.x` a template reads is declared in that schema;
// - the domain services that exist (services/<name>/src/main.ts, <name> in the catalog) each
//   appear, with their catalog port, in docker-compose.yml, the Helm values, Envoy (cluster and
//   route) and Istio (an allow policy), and none of those names a service that does not exist;
// - Envoy: the edge listens on the REST gateway port, its HTTP filters come in the designed
//   order, every cluster a route or the JWT provider names exists, and the gRPC-JSON transcoder
//   lists exactly the proto services of the existing domain services (and is absent while there
//   are none, since Envoy rejects an empty list);
// - docker-compose: every ${VAR} has a default or an explicit error, every depends_on, named
//   volume and bind-mounted path exists;
// - database roles: a service's migrations run apart (compose's <name>-migrate, Helm's migrate
//   Job) with the migration role's URL only, and the service itself gets only its own role's
//   DATABASE_URL;
// - observability: the Grafana dashboards (helm/consorcio/dashboards/, what scripts/dashboards.ts
//   renders, one per service and an overview) validate against Grafana's dashboard schema, the
//   alerts (helm/consorcio/rules/alerts.yaml) against the PrometheusRule CRD's schema (both in
//   schemas/), each alert names a runbook heading of docs/runbooks.md, and the
//   ServiceMonitor, PrometheusRule and dashboard templates sit behind their values switches;
// - scripts/sql/create-databases.sql is what scripts/create-databases-sql.ts renders.
//
// Usage: npm run check:deploy   (exit 1 and one line per problem when something is wrong)
// The same function runs in scripts/check-deploy.test.ts against broken copies.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Ajv, type ErrorObject } from "ajv";
import { parseAllDocuments } from "yaml";
import {
  REST_GATEWAY_PORT,
  SERVICE_NAMES,
  SERVICE_PORTS,
  type ServiceName,
} from "../services/platform/src/catalog.ts";
import { CREATE_DATABASES_SQL_PATH, migratorRole, renderCreateDatabasesSql } from "./create-databases-sql.ts";
import { DASHBOARDS_DIR, renderDashboards } from "./dashboards.ts";

export interface DeployCheckResult {
  /** Domain services found in services/ (with src/main.ts), in catalog order. */
  services: ServiceName[];
  /** Proto services (fully qualified) of those domain services. */
  protoServices: string[];
  /** One line per problem, `<file>: <what is wrong>`; empty when all is well. */
  problems: string[];
}

export const PATHS = {
  compose: "docker-compose.yml",
  dockerfile: "Dockerfile",
  envoy: "envoy/envoy.yaml",
  envoyDescriptor: "envoy/descriptor.binpb",
  istio: "istio",
  istioKustomization: "istio/kustomization.yaml",
  chart: "helm/consorcio",
  chartYaml: "helm/consorcio/Chart.yaml",
  values: "helm/consorcio/values.yaml",
  valuesSchema: "helm/consorcio/values.schema.json",
  templates: "helm/consorcio/templates",
  dashboards: DASHBOARDS_DIR,
  alerts: "helm/consorcio/rules/alerts.yaml",
  runbooks: "docs/runbooks.md",
  dashboardSchema: "schemas/grafana/dashboard.schema.json",
  prometheusRuleSchema: "schemas/prometheus-operator/prometheusrule.schema.json",
  sql: CREATE_DATABASES_SQL_PATH,
} as const;

/** The alerts the chart must ship (issue 15), each with a runbook. */
export const REQUIRED_ALERTS = [
  "ConsorcioHighErrorRate",
  "ConsorcioHighLatency",
  "ConsorcioNotServing",
  "ConsorcioOutboxBacklogGrowing",
  "ConsorcioDeadLetters",
  "ConsorcioCertificateExpiringSoon",
] as const;

/** The Envoy HTTP filters, in order; the transcoder only when some domain service exists. */
export const ENVOY_FILTERS = [
  "envoy.filters.http.cors",
  "envoy.filters.http.jwt_authn",
  "envoy.filters.http.local_ratelimit",
  "envoy.filters.http.grpc_json_transcoder",
  "envoy.filters.http.grpc_web",
  "envoy.filters.http.router",
] as const;
const TRANSCODER = "envoy.filters.http.grpc_json_transcoder";
export const ENVOY_DESCRIPTOR_MOUNT = "/etc/envoy/descriptor.binpb";
export const JWKS_URI = `http://identidade:${SERVICE_PORTS.identidade}/.well-known/jwks.json`;
/** The only Envoy cluster that is not a domain service: identidade's JWKS for jwt_authn. */
export const ENVOY_JWKS_CLUSTER = "identidade_jwks";
/** Compose services that are infrastructure, not domain services. */
export const COMPOSE_INFRA = ["postgres", "redis", "rabbitmq", "minio", "minio-init", "envoy"] as const;
/** Environment every domain service container needs in docker-compose. */
export const COMPOSE_SERVICE_ENV = [
  "SERVICE",
  "PORT",
  "DATABASE_URL",
  "AMQP_URL",
  "REDIS_URL",
  "JWKS_URL",
  "S3_ENDPOINT",
  "S3_BUCKET",
  "S3_ACCESS_KEY",
  "S3_SECRET_KEY",
] as const;
export const ISTIO_NAMESPACE = "consorcio";
const INGRESS_GATEWAY_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const asObject = (v: unknown): JsonObject => (isObject(v) ? v : {});
const asArray = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const isCatalogName = (name: string): name is ServiceName => Object.hasOwn(SERVICE_PORTS, name);

class Problems {
  readonly list: string[] = [];
  add(file: string, message: string): void {
    // Anchored Compose values are seen once per service that uses them: report each once.
    const line = `${file}: ${message}`;
    if (!this.list.includes(line)) this.list.push(line);
  }
}

// ------------------------------------------------------------------------------ discovery

/** Domain services present in the repository: services/<name>/src/main.ts. */
export function findServices(root: string, problems?: Problems): ServiceName[] {
  const dir = join(root, "services");
  if (!existsSync(dir)) return [];
  const found = new Set<ServiceName>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !existsSync(join(dir, entry.name, "src", "main.ts"))) continue;
    if (isCatalogName(entry.name)) found.add(entry.name);
    else
      problems?.add(
        `services/${entry.name}`,
        `has src/main.ts but "${entry.name}" is not in the service catalog`,
      );
  }
  return SERVICE_NAMES.filter((name) => found.has(name));
}

const stripProtoComments = (src: string): string =>
  src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");

/** Fully qualified proto services of a domain: every `service` in proto/consorcio/<name>/v1/*.proto. */
export function protoServicesOf(root: string, name: ServiceName): string[] {
  const dir = join(root, "proto", "consorcio", name, "v1");
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".proto"))) {
    const src = stripProtoComments(readFileSync(join(dir, file), "utf8"));
    const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(src)?.[1];
    for (const match of src.matchAll(/^\s*service\s+(\w+)\s*\{/gm)) {
      out.push(pkg ? `${pkg}.${match[1]}` : `${match[1]}`);
    }
  }
  return out.sort();
}

// ------------------------------------------------------------------------------ YAML

/** Parses a YAML file, every document; parse errors become problems. */
function readYamlDocs(root: string, rel: string, problems: Problems, opts: { merge?: boolean } = {}): Json[] {
  const path = join(root, rel);
  if (!existsSync(path)) {
    problems.add(rel, "missing");
    return [];
  }
  const docs = parseAllDocuments(readFileSync(path, "utf8"), {
    merge: opts.merge ?? false,
    prettyErrors: true,
  });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Json[] = [];
  for (const doc of list) {
    for (const error of doc.errors) problems.add(rel, `YAML: ${error.message.split("\n")[0]}`);
    if (doc.errors.length === 0) {
      const value = doc.toJS({ maxAliasCount: 1000 }) as Json;
      if (value !== null && value !== undefined) out.push(value);
    }
  }
  return out;
}

function readYaml(
  root: string,
  rel: string,
  problems: Problems,
  opts: { merge?: boolean } = {},
): Json | undefined {
  const docs = readYamlDocs(root, rel, problems, opts);
  if (docs.length > 1) problems.add(rel, "expected a single YAML document");
  return docs[0];
}

function listFiles(root: string, rel: string, match: (name: string) => boolean): string[] {
  const dir = join(root, rel);
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(root, child, match));
    else if (match(entry.name)) out.push(child);
  }
  return out.sort();
}

const isYamlFile = (name: string) => /\.ya?ml$/.test(name);

// ------------------------------------------------------------------------------ docker-compose

/** `${...}` and `$VAR` interpolations in a Compose string value ($$ is a literal $). */
function interpolations(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)) {
    if (m[1] === "$") continue;
    out.push(m[2] ?? m[3] ?? "");
  }
  return out;
}

function walkStrings(value: Json, visit: (s: string, path: string) => void, path = ""): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walkStrings(v, visit, `${path}[${i}]`);
  } else if (isObject(value)) {
    // x- extension fields included: their values reach services through anchors.
    for (const [k, v] of Object.entries(value)) walkStrings(v, visit, path ? `${path}.${k}` : k);
  }
}

/** Container port of a Compose port mapping ("127.0.0.1:7003:7003", "7003:7003", {target: 7003}). */
function containerPort(mapping: Json): number | undefined {
  if (typeof mapping === "number") return mapping;
  if (typeof mapping === "string") {
    const last = mapping.split("/")[0]?.split(":").at(-1);
    return last && /^\d+$/.test(last) ? Number(last) : undefined;
  }
  if (isObject(mapping) && typeof mapping.target === "number") return mapping.target;
  return undefined;
}

function envOf(service: JsonObject): Record<string, string> {
  const env = service.environment;
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      if (typeof item !== "string") continue;
      const eq = item.indexOf("=");
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? "" : item.slice(eq + 1);
    }
  } else if (isObject(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null ? "" : String(v);
  }
  return out;
}

function checkCompose(root: string, services: ServiceName[], problems: Problems): void {
  const file = PATHS.compose;
  const doc = asObject(readYaml(root, file, problems, { merge: true }));
  const defined = asObject(doc.services);
  const volumes = asObject(doc.volumes);

  walkStrings(doc, (s, path) => {
    for (const expr of interpolations(s)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr)?.[0];
      const rest = name ? expr.slice(name.length) : expr;
      if (!name) problems.add(file, `${path}: malformed interpolation "\${${expr}}"`);
      else if (!/^(:?-|:?\?|:?\+)/.test(rest)) {
        problems.add(
          file,
          `${path}: \${${name}} is defined nowhere: give it a default (\${${name}:-…}) or an error (\${${name}:?…})`,
        );
      }
    }
  });

  for (const infra of COMPOSE_INFRA) {
    if (!isObject(defined[infra])) problems.add(file, `service "${infra}" is missing`);
  }
  const image = (name: string) => String(asObject(defined[name]).image ?? "");
  if (!/^postgres:15(\b|[.-])/.test(image("postgres")))
    problems.add(file, "postgres must use a postgres:15 image");
  if (!/^redis:7(\b|[.-])/.test(image("redis"))) problems.add(file, "redis must use a redis:7 image");
  if (!/^rabbitmq:3\.13(\b|[.-])/.test(image("rabbitmq")))
    problems.add(file, "rabbitmq must use a rabbitmq:3.13 image");
  if (/management/.test(image("rabbitmq")))
    problems.add(file, "rabbitmq: the management plugin is not needed");
  if (!/^minio\/minio[:@]/.test(image("minio"))) problems.add(file, "minio must use the minio/minio image");
  if (!/^envoyproxy\/envoy[:@]/.test(image("envoy")))
    problems.add(file, "envoy must use the envoyproxy/envoy image");

  const postgresMounts = asArray(asObject(defined.postgres).volumes).map(String);
  if (!postgresMounts.some((m) => m.startsWith(`./${PATHS.sql}:/docker-entrypoint-initdb.d/`))) {
    problems.add(file, `postgres must mount ./${PATHS.sql} in /docker-entrypoint-initdb.d/`);
  }
  const envoyMounts = asArray(asObject(defined.envoy).volumes).map(String);
  if (!envoyMounts.some((m) => /^\.\/envoy\/?:\/etc\/envoy(:ro)?$/.test(m))) {
    problems.add(file, "envoy must mount ./envoy at /etc/envoy (envoy.yaml and descriptor.binpb)");
  }
  const envoyPorts = asArray(asObject(defined.envoy).ports).map(containerPort);
  if (!envoyPorts.includes(REST_GATEWAY_PORT))
    problems.add(file, `envoy must publish port ${REST_GATEWAY_PORT}`);

  for (const [name, raw] of Object.entries(defined)) {
    const service = asObject(raw);
    const dependsOn = Array.isArray(service.depends_on)
      ? service.depends_on.map(String)
      : Object.keys(asObject(service.depends_on));
    for (const dep of dependsOn) {
      if (!isObject(defined[dep]))
        problems.add(file, `${name}: depends_on "${dep}", which is not a service here`);
    }
    for (const mount of asArray(service.volumes)) {
      const source = typeof mount === "string" ? mount.split(":")[0] : String(asObject(mount).source ?? "");
      if (!source) continue;
      if (source.startsWith(".") || source.startsWith("/")) {
        if (source.startsWith(".") && !existsSync(join(root, source))) {
          problems.add(file, `${name}: mounts ${source}, which does not exist in the repository`);
        }
      } else if (!Object.hasOwn(volumes, source)) {
        problems.add(file, `${name}: uses volume "${source}", not declared under top-level volumes`);
      }
    }
    if ((COMPOSE_INFRA as readonly string[]).includes(name)) continue;
    const migrates = /^(.+)-migrate$/.exec(name)?.[1];
    if (migrates !== undefined) {
      checkComposeMigrate(file, name, migrates, service, services, problems);
      continue;
    }
    if (!isCatalogName(name)) {
      problems.add(file, `service "${name}" is neither infrastructure nor a catalog service`);
      continue;
    }
    if (!services.includes(name)) {
      problems.add(file, `service "${name}" has no services/${name}/src/main.ts: it does not exist`);
      continue;
    }
    const port = SERVICE_PORTS[name];
    const env = envOf(service);
    for (const key of COMPOSE_SERVICE_ENV) {
      if (env[key] === undefined || env[key] === "")
        problems.add(file, `${name}: environment ${key} is not set`);
    }
    if (env.SERVICE !== undefined && env.SERVICE !== name)
      problems.add(file, `${name}: SERVICE is "${env.SERVICE}"`);
    if (env.PORT !== undefined && env.PORT !== String(port)) {
      problems.add(file, `${name}: PORT is ${env.PORT}, the catalog says ${port}`);
    }
    const db = `consorcio_${name}`;
    if (
      env.DATABASE_URL &&
      !new RegExp(`^postgres://${db}(:[^@]*)?@postgres:5432/${db}$`).test(env.DATABASE_URL)
    ) {
      problems.add(file, `${name}: DATABASE_URL must name database ${db} on postgres:5432, as role ${db}`);
    }
    if (env.MIGRATION_DATABASE_URL !== undefined)
      problems.add(file, `${name}: MIGRATION_DATABASE_URL belongs to ${name}-migrate only`);
    if (env.MIGRATE_ON_START === "true")
      problems.add(file, `${name}: MIGRATE_ON_START: migrations run in ${name}-migrate`);
    const migrateDep = asObject(asObject(service.depends_on)[`${name}-migrate`]);
    if (migrateDep.condition !== "service_completed_successfully") {
      problems.add(
        file,
        `${name}: must depend on ${name}-migrate with condition service_completed_successfully`,
      );
    }
    if (!service.image && !service.build) problems.add(file, `${name}: needs the app image (image/build)`);
    const ports = asArray(service.ports).map(containerPort);
    if (!ports.includes(port)) problems.add(file, `${name}: must publish its catalog port ${port}`);
    for (const p of ports)
      if (p !== port) problems.add(file, `${name}: publishes ${p}, the catalog port is ${port}`);
  }
  for (const name of services) {
    if (!isObject(defined[name]))
      problems.add(file, `no service entry for ${name} (services/${name}/src/main.ts exists)`);
    if (!isObject(defined[`${name}-migrate`]))
      problems.add(file, `no ${name}-migrate entry (services/${name}/src/main.ts exists)`);
  }
}

/** `<name>-migrate`: `migrate` with the migration role's URL and the service role's name only. */
function checkComposeMigrate(
  file: string,
  entry: string,
  name: string,
  service: JsonObject,
  services: ServiceName[],
  problems: Problems,
): void {
  if (!isCatalogName(name) || !services.includes(name)) {
    problems.add(file, `service "${entry}" migrates ${name}, which has no services/${name}/src/main.ts`);
    return;
  }
  const env = envOf(service);
  const db = `consorcio_${name}`;
  if (env.SERVICE !== name) problems.add(file, `${entry}: SERVICE must be ${name}`);
  const migrator = migratorRole(name);
  if (
    !new RegExp(`^postgres://${migrator}(:[^@]*)?@postgres:5432/${db}$`).test(
      env.MIGRATION_DATABASE_URL ?? "",
    )
  ) {
    problems.add(
      file,
      `${entry}: MIGRATION_DATABASE_URL must name database ${db} on postgres:5432, as role ${migrator}`,
    );
  }
  if (env.DATABASE_SERVICE_ROLE !== db) problems.add(file, `${entry}: DATABASE_SERVICE_ROLE must be ${db}`);
  if (env.DATABASE_URL !== undefined)
    problems.add(file, `${entry}: DATABASE_URL is the service's; ${entry} needs only the migration role`);
  if (JSON.stringify(service.command) !== '["migrate"]')
    problems.add(file, `${entry}: command must be ["migrate"]`);
  if (!service.image && !service.build) problems.add(file, `${entry}: needs the app image (image/build)`);
}

function checkDockerfile(root: string, problems: Problems): void {
  const file = PATHS.dockerfile;
  if (!existsSync(join(root, file))) {
    problems.add(file, "missing");
    return;
  }
  const src = readFileSync(join(root, file), "utf8");
  if (!/^FROM node:24-slim\b/m.test(src)) problems.add(file, "must build FROM node:24-slim");
  if (!/npm ci --omit=dev/.test(src)) problems.add(file, "must install with npm ci --omit=dev");
  if (!/services\/\$\{SERVICE[^}]*\}\/src\/main\.ts/.test(src)) {
    problems.add(file, `must run services/\${SERVICE}/src/main.ts`);
  }
}

// ------------------------------------------------------------------------------ Envoy

interface EnvoyCluster {
  name: string;
  address?: string;
  port?: number;
  http2: boolean;
}

function envoyClusters(doc: JsonObject): EnvoyCluster[] {
  return asArray(asObject(doc.static_resources).clusters).map((raw) => {
    const c = asObject(raw);
    const endpoint = asObject(
      asObject(
        asObject(asArray(asObject(asArray(asObject(c.load_assignment).endpoints)[0]).lb_endpoints)[0])
          .endpoint,
      ).address,
    );
    const socket = asObject(endpoint.socket_address);
    const protocol = asObject(
      asObject(c.typed_extension_protocol_options)["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"],
    );
    return {
      name: String(c.name ?? ""),
      ...(typeof socket.address === "string" ? { address: socket.address } : {}),
      ...(typeof socket.port_value === "number" ? { port: socket.port_value } : {}),
      http2: isObject(asObject(protocol.explicit_http_config).http2_protocol_options),
    };
  });
}

/** Every `cluster:` value anywhere under a node (routes, weighted clusters, http_uri). */
function clusterRefs(node: Json, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) clusterRefs(v, out);
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "cluster" && typeof v === "string") out.push(v);
      else if (k === "clusters" && Array.isArray(v)) {
        for (const w of v) if (isObject(w) && typeof w.name === "string") out.push(w.name);
      } else clusterRefs(v, out);
    }
  }
  return out;
}

function serviceNamesInDescriptor(root: string): Set<string> {
  const bytes = readFileSync(join(root, PATHS.envoyDescriptor));
  const set = fromBinary(FileDescriptorSetSchema, bytes);
  const names = new Set<string>();
  for (const f of set.file)
    for (const s of f.service) names.add(f.package ? `${f.package}.${s.name}` : s.name);
  return names;
}

function checkEnvoy(
  root: string,
  services: ServiceName[],
  protoServices: string[],
  problems: Problems,
): void {
  const file = PATHS.envoy;
  const doc = asObject(readYaml(root, file, problems));
  const listeners = asArray(asObject(doc.static_resources).listeners).map(asObject);
  const edge = listeners.find(
    (l) => asObject(asObject(l.address).socket_address).port_value === REST_GATEWAY_PORT,
  );
  if (!edge) {
    problems.add(file, `no listener on port ${REST_GATEWAY_PORT}`);
    return;
  }
  const hcm = asArray(edge.filter_chains)
    .flatMap((chain) => asArray(asObject(chain).filters))
    .map(asObject)
    .find((f) => f.name === "envoy.filters.network.http_connection_manager");
  if (!hcm) {
    problems.add(file, "the edge listener has no http_connection_manager");
    return;
  }
  const config = asObject(hcm.typed_config);
  const filters = asArray(config.http_filters).map(asObject);
  const names = filters.map((f) => String(f.name ?? ""));
  const expected = ENVOY_FILTERS.filter((f) => f !== TRANSCODER || protoServices.length > 0);
  if (names.join(",") !== expected.join(",")) {
    problems.add(file, `http_filters must be [${expected.join(", ")}], found [${names.join(", ")}]`);
  }
  for (const f of filters) {
    if (!isObject(f.typed_config) || typeof f.typed_config["@type"] !== "string") {
      problems.add(file, `filter ${String(f.name)} has no typed_config.@type`);
    }
  }

  const clusters = envoyClusters(doc);
  const clusterNames = new Set(clusters.map((c) => c.name));
  if (clusterNames.size !== clusters.length) problems.add(file, "cluster names are not unique");

  // JWT: remote JWKS of identidade, payload forwarded, through a cluster that exists.
  const jwt = asObject(filters.find((f) => f.name === "envoy.filters.http.jwt_authn")?.typed_config);
  const providers = Object.entries(asObject(jwt.providers));
  if (providers.length === 0) problems.add(file, "jwt_authn has no provider");
  for (const [providerName, raw] of providers) {
    const provider = asObject(raw);
    const httpUri = asObject(asObject(provider.remote_jwks).http_uri);
    if (httpUri.uri !== JWKS_URI)
      problems.add(file, `jwt_authn provider ${providerName}: remote JWKS must be ${JWKS_URI}`);
    if (typeof provider.forward_payload_header !== "string" || !provider.forward_payload_header) {
      problems.add(file, `jwt_authn provider ${providerName}: forward_payload_header is not set`);
    }
  }

  // Transcoder: exactly the proto services of the existing domain services.
  const transcoder = asObject(filters.find((f) => f.name === TRANSCODER)?.typed_config);
  if (protoServices.length > 0 && names.includes(TRANSCODER)) {
    const listed = asArray(transcoder.services).map(String).sort();
    if (listed.join(",") !== protoServices.join(",")) {
      problems.add(
        file,
        `grpc_json_transcoder services must be [${protoServices.join(", ")}], found [${listed.join(", ")}]`,
      );
    }
    if (transcoder.proto_descriptor !== ENVOY_DESCRIPTOR_MOUNT) {
      problems.add(file, `grpc_json_transcoder proto_descriptor must be ${ENVOY_DESCRIPTOR_MOUNT}`);
    }
    if (!existsSync(join(root, PATHS.envoyDescriptor))) {
      problems.add(PATHS.envoyDescriptor, "missing: the transcoder loads it (generated by `buf build`)");
    } else {
      const inDescriptor = serviceNamesInDescriptor(root);
      for (const s of listed) {
        if (!inDescriptor.has(s))
          problems.add(PATHS.envoyDescriptor, `does not contain ${s}, which the transcoder lists`);
      }
    }
  }

  // Clusters: one HTTP/2 cluster per existing domain service, on its catalog port.
  for (const c of clusters) {
    if (c.name === ENVOY_JWKS_CLUSTER) {
      if (c.address !== "identidade" || c.port !== SERVICE_PORTS.identidade) {
        problems.add(file, `cluster ${c.name} must point at identidade:${SERVICE_PORTS.identidade}`);
      }
      continue;
    }
    if (!isCatalogName(c.name)) {
      problems.add(file, `cluster "${c.name}" is neither a catalog service nor ${ENVOY_JWKS_CLUSTER}`);
      continue;
    }
    if (!services.includes(c.name)) {
      problems.add(file, `cluster "${c.name}": services/${c.name}/src/main.ts does not exist`);
      continue;
    }
    if (c.address !== c.name || c.port !== SERVICE_PORTS[c.name]) {
      problems.add(
        file,
        `cluster ${c.name} must point at ${c.name}:${SERVICE_PORTS[c.name]}, found ${c.address}:${c.port}`,
      );
    }
    if (!c.http2)
      problems.add(file, `cluster ${c.name} must speak HTTP/2 (explicit_http_config.http2_protocol_options)`);
  }
  for (const name of services) {
    if (!clusterNames.has(name))
      problems.add(file, `no cluster for ${name} (services/${name}/src/main.ts exists)`);
  }

  // Routes: every referenced cluster exists; one prefix route per existing domain package.
  const routeConfig = asObject(config.route_config);
  for (const ref of [...clusterRefs(routeConfig), ...clusterRefs(jwt)]) {
    if (!clusterNames.has(ref))
      problems.add(file, `a route or provider refers to cluster "${ref}", which is not defined`);
  }
  const routes = asArray(routeConfig.virtual_hosts).flatMap((vh) =>
    asArray(asObject(vh).routes).map(asObject),
  );
  const catchAll = routes.findIndex((r) => asObject(r.match).prefix === "/");
  if (catchAll >= 0 && catchAll < routes.length - 1) {
    problems.add(file, 'routes after the catch-all prefix "/" can never match');
  }
  for (const name of services) {
    const prefix = `/consorcio.${name}.v1.`;
    const route = routes.find((r) => asObject(r.match).prefix === prefix);
    if (!route) problems.add(file, `no route with prefix ${prefix} for ${name}`);
    else if (asObject(route.route).cluster !== name)
      problems.add(file, `route ${prefix} must go to cluster ${name}`);
  }
  for (const r of routes) {
    const prefix = asObject(r.match).prefix;
    const m = typeof prefix === "string" ? /^\/consorcio\.(\w+)\.v1\.$/.exec(prefix) : null;
    if (m?.[1] && !services.includes(m[1] as ServiceName)) {
      problems.add(file, `route ${prefix}: services/${m[1]}/src/main.ts does not exist`);
    }
  }
}

// ------------------------------------------------------------------------------ Istio

interface K8sObject {
  file: string;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  spec: JsonObject;
  raw: JsonObject;
}

function k8sObjects(root: string, file: string, problems: Problems): K8sObject[] {
  return readYamlDocs(root, file, problems).map((doc) => {
    const o = asObject(doc);
    const meta = asObject(o.metadata);
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof meta.name !== "string") {
      problems.add(file, "a document lacks apiVersion, kind or metadata.name");
    }
    return {
      file,
      apiVersion: String(o.apiVersion ?? ""),
      kind: String(o.kind ?? ""),
      name: String(meta.name ?? ""),
      ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
      spec: asObject(o.spec),
      raw: o,
    };
  });
}

function checkIstio(root: string, services: ServiceName[], problems: Problems): void {
  const all = listFiles(root, PATHS.istio, isYamlFile);
  const templates = all.filter((f) => f.startsWith(`${PATHS.istio}/templates/`));
  const kustomization = asObject(readYaml(root, PATHS.istioKustomization, problems));
  const resources = asArray(kustomization.resources).map((r) => `${PATHS.istio}/${String(r)}`);
  if (kustomization.namespace !== ISTIO_NAMESPACE) {
    problems.add(PATHS.istioKustomization, `namespace must be ${ISTIO_NAMESPACE}`);
  }
  for (const r of resources)
    if (!existsSync(join(root, r)))
      problems.add(PATHS.istioKustomization, `lists ${r}, which does not exist`);
  const manifests = all.filter((f) => f !== PATHS.istioKustomization && !templates.includes(f));
  for (const f of manifests) {
    if (!resources.includes(f)) problems.add(PATHS.istioKustomization, `does not list ${f}`);
  }
  for (const t of templates) readYamlDocs(root, t, problems); // templates must still parse

  const objects = manifests.flatMap((f) => k8sObjects(root, f, problems));
  for (const o of objects) {
    if (o.kind !== "Namespace" && o.namespace !== ISTIO_NAMESPACE) {
      problems.add(o.file, `${o.kind} ${o.name} must be in namespace ${ISTIO_NAMESPACE}`);
    }
    if (o.kind === "PeerAuthentication" || o.kind === "AuthorizationPolicy") {
      if (o.apiVersion !== "security.istio.io/v1")
        problems.add(o.file, `${o.kind} ${o.name}: use security.istio.io/v1`);
    }
  }

  const peer = objects.filter((o) => o.kind === "PeerAuthentication");
  const nsWide = peer.find((o) => !isObject(o.spec.selector));
  if (!nsWide || asObject(nsWide.spec.mtls).mode !== "STRICT") {
    problems.add(
      PATHS.istio,
      `needs a namespace-wide PeerAuthentication with mtls.mode STRICT in ${ISTIO_NAMESPACE}`,
    );
  }
  for (const p of peer) {
    const modes = [
      asObject(p.spec.mtls).mode,
      ...Object.values(asObject(p.spec.portLevelMtls)).map((m) => asObject(m).mode),
    ];
    for (const mode of modes) {
      if (mode !== undefined && mode !== "STRICT")
        problems.add(p.file, `PeerAuthentication ${p.name}: mode ${String(mode)} weakens mTLS`);
    }
  }

  const policies = objects.filter((o) => o.kind === "AuthorizationPolicy");
  if (!policies.some((p) => Object.keys(p.spec).length === 0)) {
    problems.add(PATHS.istio, "needs a deny-all AuthorizationPolicy (spec: {}) in the namespace");
  }
  const principalsOf = (p: K8sObject): string[] =>
    asArray(p.spec.rules).flatMap((rule) =>
      asArray(asObject(rule).from).flatMap((from) =>
        asArray(asObject(asObject(from).source).principals).map(String),
      ),
    );
  if (
    !policies.some((p) => !isObject(p.spec.selector) && principalsOf(p).includes(INGRESS_GATEWAY_PRINCIPAL))
  ) {
    problems.add(PATHS.istio, "needs an AuthorizationPolicy allowing the ingress gateway to the services");
  }
  for (const p of policies) {
    if (p.spec.action !== undefined && p.spec.action !== "ALLOW") continue;
    const label = asObject(asObject(p.spec.selector).matchLabels)["app.kubernetes.io/name"];
    for (const principal of principalsOf(p)) {
      const m = new RegExp(`^cluster\\.local/ns/${ISTIO_NAMESPACE}/sa/(.+)$`).exec(principal);
      if (m?.[1] && !services.includes(m[1] as ServiceName)) {
        problems.add(p.file, `${p.name}: caller ${m[1]} is not an existing service`);
      }
    }
    if (label === undefined) continue;
    const name = String(label);
    if (!isCatalogName(name) || !services.includes(name)) {
      problems.add(p.file, `${p.name}: selects ${name}, which is not an existing domain service`);
      continue;
    }
    const port = String(SERVICE_PORTS[name]);
    for (const rule of asArray(p.spec.rules)) {
      for (const to of asArray(asObject(rule).to)) {
        for (const q of asArray(asObject(asObject(to).operation).ports).map(String)) {
          if (q !== port)
            problems.add(p.file, `${p.name}: port ${q}, the catalog port of ${name} is ${port}`);
        }
      }
    }
  }
  for (const name of services) {
    const file = `${PATHS.istio}/services/${name}.yaml`;
    const own = policies.filter(
      (p) =>
        p.file === file && asObject(asObject(p.spec.selector).matchLabels)["app.kubernetes.io/name"] === name,
    );
    if (own.length === 0)
      problems.add(
        file,
        `needs the allow policy of ${name} (from istio/templates/service-authorization.yaml)`,
      );
  }
}

// ------------------------------------------------------------------------------ Helm

function formatAjvError(e: ErrorObject): string {
  const where = e.instancePath || "(root)";
  const extra =
    e.keyword === "additionalProperties"
      ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
      : e.keyword === "enum"
        ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
        : "";
  return `${where} ${e.message ?? e.keyword}${extra}`;
}

type Schema = { [key: string]: unknown };

function resolveRef(root: Schema, node: Schema): Schema {
  let current = node;
  for (let i = 0; i < 10 && typeof current.$ref === "string"; i++) {
    const parts = current.$ref.replace(/^#\//, "").split("/");
    let target: unknown = root;
    for (const p of parts) target = (target as Schema | undefined)?.[p];
    current = (target as Schema | undefined) ?? {};
  }
  return current;
}

/** Whether a dotted path (a.b.c) is declared by the schema node. */
function schemaHasPath(root: Schema, node: Schema, path: string[]): boolean {
  let current = resolveRef(root, node);
  for (const segment of path) {
    const props = (current.properties ?? {}) as Record<string, Schema>;
    if (Object.hasOwn(props, segment)) current = resolveRef(root, props[segment] as Schema);
    else if (isObject(current.additionalProperties))
      current = resolveRef(root, current.additionalProperties as Schema);
    else if (current.additionalProperties === false || current.type !== "object") return false;
    else return true; // an open object: anything below is allowed
  }
  return true;
}

function checkHelm(root: string, services: ServiceName[], problems: Problems): void {
  const chart = asObject(readYaml(root, PATHS.chartYaml, problems));
  if (chart.apiVersion !== "v2") problems.add(PATHS.chartYaml, "apiVersion must be v2");
  if (chart.name !== "consorcio") problems.add(PATHS.chartYaml, "name must be consorcio");
  if (typeof chart.version !== "string" || !/^\d+\.\d+\.\d+([-+].*)?$/.test(chart.version)) {
    problems.add(PATHS.chartYaml, "version must be a SemVer string");
  }

  const values = asObject(readYaml(root, PATHS.values, problems));
  let schema: Schema = {};
  try {
    schema = JSON.parse(readFileSync(join(root, PATHS.valuesSchema), "utf8")) as Schema;
  } catch (error) {
    problems.add(PATHS.valuesSchema, `unreadable: ${(error as Error).message}`);
  }
  if (schema.$schema !== "http://json-schema.org/draft-07/schema#") {
    problems.add(PATHS.valuesSchema, "must declare JSON Schema draft-07 ($schema)");
  }
  try {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    const validate = ajv.compile(schema);
    if (!validate(values)) {
      for (const e of validate.errors ?? []) problems.add(PATHS.values, formatAjvError(e));
    }
  } catch (error) {
    problems.add(PATHS.valuesSchema, `invalid schema: ${(error as Error).message}`);
  }

  // The schema's list of service names is the catalog.
  const servicesSchema = asObject(asObject(schema.properties as Json).services);
  const schemaNames = asObject(servicesSchema.propertyNames).enum;
  const enumNames = Array.isArray(schemaNames) ? schemaNames.map(String).sort() : [];
  if (enumNames.join(",") !== [...SERVICE_NAMES].sort().join(",")) {
    problems.add(PATHS.valuesSchema, "services.propertyNames.enum must list exactly the catalog services");
  }

  const declared = asObject(values.services);
  for (const [name, raw] of Object.entries(declared)) {
    if (!isCatalogName(name) || !services.includes(name)) {
      problems.add(PATHS.values, `services.${name}: services/${name}/src/main.ts does not exist`);
      continue;
    }
    const port = asObject(raw).port;
    if (port !== SERVICE_PORTS[name]) {
      problems.add(
        PATHS.values,
        `services.${name}.port is ${String(port)}, the catalog says ${SERVICE_PORTS[name]}`,
      );
    }
  }
  for (const name of services) {
    if (!isObject(declared[name]))
      problems.add(PATHS.values, `services.${name} is missing (services/${name}/src/main.ts exists)`);
  }

  // Templates: Go templates, checked as text.
  const templates = listFiles(root, PATHS.templates, (n) => /\.(ya?ml|tpl|txt)$/.test(n));
  const required = [
    "deployment.yaml",
    "service.yaml",
    "serviceaccount.yaml",
    "migrate-job.yaml",
    "configmap.yaml",
  ];
  for (const r of required) {
    if (!templates.includes(`${PATHS.templates}/${r}`)) problems.add(`${PATHS.templates}/${r}`, "missing");
  }
  const serviceSchema = { $ref: "#/definitions/service" };
  const refsSchema = { $ref: "#/properties/secretRefs" };
  for (const t of templates) {
    const src = readFileSync(join(root, t), "utf8");
    if (/^\s*kind:\s*Secret\s*$/m.test(src))
      problems.add(t, "defines a Secret: secrets are referenced, never shipped");
    const refs: Array<[RegExp, Schema, string]> = [
      [/(?:\$|\.root)?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g, schema, ".Values"],
      [/(?:\$svc|\.svc)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g, serviceSchema, "service"],
      [/\$refs((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g, refsSchema, "secretRefs"],
    ];
    for (const [pattern, node, label] of refs) {
      for (const m of src.matchAll(pattern)) {
        const path = (m[1] ?? "").slice(1).split(".");
        if (!schemaHasPath(schema, node, path)) {
          problems.add(t, `reads ${label}.${path.join(".")}, which values.schema.json does not declare`);
        }
      }
    }
  }
  const job = readTemplate(root, "migrate-job.yaml");
  if (!/"helm\.sh\/hook":\s*pre-install,pre-upgrade/.test(job)) {
    problems.add(`${PATHS.templates}/migrate-job.yaml`, 'must be a "pre-install,pre-upgrade" hook');
  }
  if (!/args:\s*\["migrate"\]/.test(job))
    problems.add(`${PATHS.templates}/migrate-job.yaml`, "must run `migrate`");
  if (/configMapRef|serviceAccountName/.test(job)) {
    problems.add(
      `${PATHS.templates}/migrate-job.yaml`,
      "a pre-install hook cannot use the release's ConfigMap or ServiceAccount",
    );
  }
  const deployment = readTemplate(root, "deployment.yaml");
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const block = deployment.split(`${probe}:`)[1]?.split(/\n\s*\w+Probe:|\n\s*resources:/)[0] ?? "";
    if (!/^\s*\n\s*grpc:\s*\n\s*port: \{\{ \$svc\.port \}\}/.test(block) || !/timeoutSeconds:/.test(block)) {
      problems.add(
        `${PATHS.templates}/deployment.yaml`,
        `${probe} must be a gRPC health probe on the service port with a timeout`,
      );
    }
  }
  if (!/livenessProbe:\s*\n\s*grpc:\s*\n\s*port: [^\n]+\n\s*service: liveness/.test(deployment)) {
    problems.add(`${PATHS.templates}/deployment.yaml`, 'livenessProbe must ask the "liveness" health name');
  }
  const env = readTemplate(root, "_helpers.tpl");
  // The pods get only the service role's URL, the migrate Job only the migration role's.
  const defineBody = (name: string) =>
    new RegExp(`define "${name}" -\\}\\}([\\s\\S]*?)\\{\\{- end -\\}\\}`).exec(env)?.[1] ?? "";
  const jobFile = `${PATHS.templates}/migrate-job.yaml`;
  if (!job.includes('include "consorcio.migrateEnv"') || job.includes('include "consorcio.serviceEnv"')) {
    problems.add(jobFile, 'must take its environment from "consorcio.migrateEnv" only');
  }
  if (
    !deployment.includes('include "consorcio.serviceEnv"') ||
    /migrateEnv|MIGRATION_DATABASE_URL/.test(deployment)
  ) {
    problems.add(
      `${PATHS.templates}/deployment.yaml`,
      'must take its environment from "consorcio.serviceEnv" only',
    );
  }
  const serviceEnv = defineBody("consorcio.serviceEnv");
  const migrateEnv = defineBody("consorcio.migrateEnv");
  if (/MIGRATION_DATABASE_URL/.test(serviceEnv) || !/- name: DATABASE_URL\n/.test(serviceEnv)) {
    problems.add(
      `${PATHS.templates}/_helpers.tpl`,
      "consorcio.serviceEnv must carry DATABASE_URL, never MIGRATION_DATABASE_URL",
    );
  }
  const migrateSecrets = [...migrateEnv.matchAll(/- name: (\w+)\n\s*valueFrom:/g)].map((m) => m[1]);
  if (
    !/- name: MIGRATION_DATABASE_URL\n/.test(migrateEnv) ||
    !/- name: DATABASE_SERVICE_ROLE\n/.test(migrateEnv) ||
    migrateSecrets.some((name) => name !== "MIGRATION_DATABASE_URL" && name !== "AMQP_URL")
  ) {
    problems.add(
      `${PATHS.templates}/_helpers.tpl`,
      "consorcio.migrateEnv must carry MIGRATION_DATABASE_URL and DATABASE_SERVICE_ROLE, and no secret but AMQP_URL",
    );
  }
  for (const name of [
    "DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "AMQP_URL",
    "REDIS_URL",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "IDENTIDADE_SECRET_KEY",
    "CONSORCIO_ADMIN_PASSWORD",
    "PII_MASTER_KEY",
    "PII_INDEX_KEY",
  ]) {
    if (!new RegExp(`- name: ${name}\\n\\s*valueFrom:\\n\\s*secretKeyRef:`).test(env)) {
      problems.add(`${PATHS.templates}/_helpers.tpl`, `${name} must come from a secretKeyRef`);
    }
  }
}

// ------------------------------------------------------------------------------ observability

function compileSchema(ajv: Ajv, root: string, rel: string, problems: Problems, adapt = (s: Schema) => s) {
  try {
    return ajv.compile(adapt(JSON.parse(readFileSync(join(root, rel), "utf8")) as Schema));
  } catch (error) {
    problems.add(rel, `unusable schema: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * A CRD's openAPIV3Schema as the API server applies it with strict field validation: an object
 * that lists its properties takes no other; the x-kubernetes-* markers are not JSON Schema.
 */
export function strictCrdSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictCrdSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-")) continue;
    out[key] =
      key === "properties"
        ? Object.fromEntries(Object.entries(asObject(value)).map(([k, v]) => [k, strictCrdSchema(v) as Json]))
        : (strictCrdSchema(value) as Json);
  }
  if (isObject(out.properties) && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(
      (m[1] ?? "")
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return anchors;
}

function checkObservability(root: string, services: ServiceName[], problems: Problems): void {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  // Dashboards: valid, unique, current, one per deployed service plus the overview.
  const validateDashboard = compileSchema(ajv, root, PATHS.dashboardSchema, problems);
  const rendered = renderDashboards();
  const files = existsSync(join(root, PATHS.dashboards))
    ? readdirSync(join(root, PATHS.dashboards)).filter((n) => n.endsWith(".json"))
    : [];
  const uids = new Map<string, string>();
  for (const file of files) {
    const rel = `${PATHS.dashboards}/${file}`;
    const text = readFileSync(join(root, rel), "utf8");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      problems.add(rel, `not JSON: ${(error as Error).message}`);
      continue;
    }
    if (validateDashboard && !validateDashboard(doc)) {
      for (const e of validateDashboard.errors ?? [])
        problems.add(rel, `Grafana dashboard schema: ${formatAjvError(e)}`);
    }
    const uid = String(asObject(doc as Json).uid ?? "");
    const other = uids.get(uid);
    if (other) problems.add(rel, `uid ${uid} is also the uid of ${other}`);
    uids.set(uid, rel);
    if (!(file in rendered))
      problems.add(rel, "not rendered by scripts/dashboards.ts (a service that is not in the catalog?)");
    // Compared as JSON: the files are biome-formatted after rendering.
    else if (JSON.stringify(JSON.parse(rendered[file] ?? "null")) !== JSON.stringify(doc))
      problems.add(rel, "stale: regenerate with `npx node scripts/dashboards.ts`");
  }
  for (const name of ["overview", ...services]) {
    if (!files.includes(`${name}.json`))
      problems.add(`${PATHS.dashboards}/${name}.json`, "missing (npx node scripts/dashboards.ts)");
  }

  // Alerts: the PrometheusRule the template builds from rules/alerts.yaml, against the CRD.
  const validateRule = compileSchema(
    ajv,
    root,
    PATHS.prometheusRuleSchema,
    problems,
    (schema) => strictCrdSchema(schema) as Schema,
  );
  const spec = readYaml(root, PATHS.alerts, problems);
  const runbooks = existsSync(join(root, PATHS.runbooks))
    ? readFileSync(join(root, PATHS.runbooks), "utf8")
    : "";
  if (!runbooks) problems.add(PATHS.runbooks, "missing: every alert needs a runbook");
  const anchors = headingAnchors(runbooks);
  if (validateRule) {
    const rule = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "consorcio" },
      spec,
    };
    if (!validateRule(rule)) {
      for (const e of validateRule.errors ?? [])
        problems.add(PATHS.alerts, `PrometheusRule CRD schema: ${formatAjvError(e)}`);
    }
  }
  const alerts = new Set<string>();
  for (const group of Array.isArray(asObject(spec).groups) ? (asObject(spec).groups as Json[]) : []) {
    for (const raw of Array.isArray(asObject(group).rules) ? (asObject(group).rules as Json[]) : []) {
      const rule = asObject(raw);
      if (typeof rule.alert !== "string") continue;
      if (rule.record !== undefined) problems.add(PATHS.alerts, `${rule.alert}: sets both alert and record`);
      if (alerts.has(rule.alert)) problems.add(PATHS.alerts, `${rule.alert}: defined twice`);
      alerts.add(rule.alert);
      if (typeof asObject(rule.labels).severity !== "string")
        problems.add(PATHS.alerts, `${rule.alert}: no severity label`);
      const runbook = String(asObject(rule.annotations).runbook ?? "");
      const anchor = runbook.startsWith(`${PATHS.runbooks}#`)
        ? runbook.slice(PATHS.runbooks.length + 1)
        : undefined;
      if (!anchor)
        problems.add(PATHS.alerts, `${rule.alert}: annotations.runbook must be ${PATHS.runbooks}#<heading>`);
      else if (runbooks && !anchors.has(anchor))
        problems.add(PATHS.alerts, `${rule.alert}: ${PATHS.runbooks} has no heading #${anchor}`);
    }
  }
  for (const name of REQUIRED_ALERTS)
    if (!alerts.has(name)) problems.add(PATHS.alerts, `alert ${name} is missing`);

  // Templates: each behind its switch.
  const switches: Array<[string, string]> = [
    ["servicemonitor.yaml", ".Values.metrics.serviceMonitor.enabled"],
    ["prometheusrule.yaml", ".Values.metrics.prometheusRule.enabled"],
    ["dashboards.yaml", ".Values.metrics.dashboards.enabled"],
  ];
  for (const [file, value] of switches) {
    const src = readTemplate(root, file);
    if (!src.startsWith(`{{- if ${value} }}`))
      problems.add(`${PATHS.templates}/${file}`, `must be wrapped in {{- if ${value} }}`);
  }
  if (!readTemplate(root, "prometheusrule.yaml").includes('.Files.Get "rules/alerts.yaml"'))
    problems.add(`${PATHS.templates}/prometheusrule.yaml`, "must build its spec from rules/alerts.yaml");
  const deployment = readTemplate(root, "deployment.yaml");
  for (const annotation of ["prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path: /metrics"]) {
    if (!deployment.includes(annotation))
      problems.add(
        `${PATHS.templates}/deployment.yaml`,
        `pods need the ${annotation} annotation (Istio metrics merging)`,
      );
  }
}

function readTemplate(root: string, name: string): string {
  const path = join(root, PATHS.templates, name);
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

// ------------------------------------------------------------------------------ SQL

function checkSql(root: string, problems: Problems): void {
  const path = join(root, PATHS.sql);
  if (!existsSync(path)) problems.add(PATHS.sql, "missing (npx node scripts/create-databases-sql.ts)");
  else if (readFileSync(path, "utf8") !== renderCreateDatabasesSql()) {
    problems.add(PATHS.sql, "stale: regenerate with `npx node scripts/create-databases-sql.ts`");
  }
}

// ------------------------------------------------------------------------------ entry

/** Runs every check against the repository at `root`. */
export function checkDeploy(root: string): DeployCheckResult {
  const problems = new Problems();
  const services = findServices(root, problems);
  const protoServices = services.flatMap((s) => protoServicesOf(root, s)).sort();
  checkCompose(root, services, problems);
  checkDockerfile(root, problems);
  checkEnvoy(root, services, protoServices, problems);
  checkIstio(root, services, problems);
  checkHelm(root, services, problems);
  checkObservability(root, services, problems);
  checkSql(root, problems);
  return { services, protoServices, problems: problems.list };
}

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

if (import.meta.main) {
  const result = checkDeploy(REPO_ROOT);
  const which = result.services.length > 0 ? result.services.join(", ") : "none yet";
  console.log(`check:deploy: domain services found: ${which}`);
  if (result.problems.length > 0) {
    for (const p of result.problems) console.error(`  ✗ ${p}`);
    console.error(`check:deploy: ${result.problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(
    "check:deploy: docker-compose.yml, Dockerfile, envoy/, istio/, helm/consorcio/ and the SQL agree",
  );
}
