// Tests of scripts/check-deploy.ts: the repository's deployment files pass, and broken copies of
// them (in a temporary folder) fail with the problem named. The "add a service everywhere" case
// also shows what a new domain service needs in each file.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { SERVICE_PORTS, type ServiceName } from "../services/platform/src/catalog.ts";
import { checkDeploy, findServices, PATHS, REPO_ROOT } from "./check-deploy.ts";

const COPIED = [
  "proto",
  PATHS.compose,
  PATHS.dockerfile,
  "envoy",
  PATHS.istio,
  PATHS.chart,
  PATHS.sql,
  "scripts/create-databases-sql.ts",
  PATHS.runbooks,
  "schemas",
];

const fixtures: string[] = [];

/** A copy of the deployment files, with a services/ folder like the repository's. */
function fixture(): string {
  const root = mkdtempSync(join(tmpdir(), "check-deploy-"));
  fixtures.push(root);
  for (const rel of COPIED) {
    if (existsSync(join(REPO_ROOT, rel))) cpSync(join(REPO_ROOT, rel), join(root, rel), { recursive: true });
  }
  for (const name of findServices(REPO_ROOT)) write(root, `services/${name}/src/main.ts`, "// service\n");
  write(root, "services/platform/src/index.ts", "// not a domain service: no main.ts\n");
  return root;
}

afterEach(() => {
  for (const root of fixtures.splice(0)) rmSync(root, { recursive: true, force: true });
});

function write(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}
const read = (root: string, rel: string) => readFileSync(join(root, rel), "utf8");
function edit(root: string, rel: string, change: (text: string) => string): void {
  const before = read(root, rel);
  const after = change(before);
  if (after === before) throw new Error(`the edit of ${rel} changed nothing`);
  write(root, rel, after);
}
function editYaml(root: string, rel: string, change: (doc: Record<string, unknown>) => void): void {
  const doc = parse(read(root, rel)) as Record<string, unknown>;
  change(doc);
  write(root, rel, stringify(doc));
}
const problemsOf = (root: string) => checkDeploy(root).problems;

/** A descriptor set with the repository's proto services plus `extra` (fully qualified names). */
function writeDescriptor(root: string, extra: string[]): void {
  const names = [...checkDeploy(REPO_ROOT).protoServices, ...extra];
  const set = create(FileDescriptorSetSchema, {
    file: names.map((full, i) => {
      const dot = full.lastIndexOf(".");
      return { name: `f${i}.proto`, package: full.slice(0, dot), service: [{ name: full.slice(dot + 1) }] };
    }),
  });
  writeFileSync(join(root, PATHS.envoyDescriptor), toBinary(FileDescriptorSetSchema, set));
}

// biome-ignore lint/suspicious/noExplicitAny: the tests walk parsed YAML of known shape
type Any = Record<string, any>;

/** Everything a new domain service needs, done the way the files' comments say. */
function addService(root: string, name: ServiceName, protoService: string): void {
  const port = SERVICE_PORTS[name];
  write(root, `services/${name}/src/main.ts`, "// service\n");
  write(
    root,
    `proto/consorcio/${name}/v1/${name}_service.proto`,
    `syntax = "proto3";\n// service Commented {}\npackage consorcio.${name}.v1;\n\nservice ${protoService} {\n  rpc Ping(PingRequest) returns (PingResponse);\n}\n`,
  );
  edit(root, PATHS.compose, (text) =>
    text.replace(
      "\nvolumes:\n",
      `
  ${name}-migrate:
    <<: *migrate
    environment:
      <<: *migrate-env
      SERVICE: ${name}
      MIGRATION_DATABASE_URL: postgres://consorcio_${name}_migrator:consorcio_${name}_migrator@postgres:5432/consorcio_${name}
      DATABASE_SERVICE_ROLE: consorcio_${name}

  ${name}:
    <<: *service
    depends_on:
      <<: *service-deps
      ${name}-migrate: { condition: service_completed_successfully }
    environment:
      <<: *service-env
      SERVICE: ${name}
      PORT: "${port}"
      DATABASE_URL: postgres://consorcio_${name}:consorcio_${name}@postgres:5432/consorcio_${name}
    ports: ["127.0.0.1:${port}:${port}"]

volumes:
`,
    ),
  );
  editYaml(root, PATHS.envoy, (doc: Any) => {
    const hcm = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const routes = hcm.route_config.virtual_hosts[0].routes;
    routes.unshift({ match: { prefix: `/consorcio.${name}.v1.` }, route: { cluster: name, timeout: "60s" } });
    const filters = hcm.http_filters;
    const fullName = `consorcio.${name}.v1.${protoService}`;
    const existing = filters.find((f: Any) => f.name === "envoy.filters.http.grpc_json_transcoder");
    if (existing) {
      existing.typed_config.services.push(fullName);
      return;
    }
    const at = filters.findIndex((f: Any) => f.name === "envoy.filters.http.grpc_web");
    filters.splice(at, 0, {
      name: "envoy.filters.http.grpc_json_transcoder",
      typed_config: {
        "@type":
          "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        proto_descriptor: "/etc/envoy/descriptor.binpb",
        services: [fullName],
      },
    });
  });
  editYaml(root, PATHS.envoy, (doc: Any) => {
    doc.static_resources.clusters.push({
      name,
      type: "STRICT_DNS",
      connect_timeout: "2s",
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: name, port_value: port } } } },
            ],
          },
        ],
      },
    });
  });
  editYaml(root, PATHS.values, (doc: Any) => {
    doc.services = {
      ...doc.services,
      [name]: { enabled: true, port, replicas: 2, resources: { requests: { cpu: "100m", memory: "192Mi" } } },
    };
  });
  const template = read(root, "istio/templates/service-authorization.yaml");
  const policy = template
    .replace(/^#.*\n/gm, "")
    .replaceAll("SERVICE", name)
    .replaceAll("PORT", String(port))
    .replaceAll("CALLER", name);
  write(root, `istio/services/${name}.yaml`, policy);
  editYaml(root, PATHS.istioKustomization, (doc: Any) => {
    doc.resources.push(`services/${name}.yaml`);
  });
}

describe("check:deploy on the repository", () => {
  it("finds no problem", () => {
    const result = checkDeploy(REPO_ROOT);
    expect(result.problems).toEqual([]);
  });

  it("finds the domain services by services/<name>/src/main.ts, and platform is not one", () => {
    const root = fixture();
    expect(findServices(root)).not.toContain("platform");
    write(root, "services/documentos/src/main.ts", "");
    expect(findServices(root)).toContain("documentos");
  });
});

describe("check:deploy on broken copies", () => {
  it("the untouched copy passes (so each failure below comes from its edit)", () => {
    expect(problemsOf(fixture())).toEqual([]);
  });

  it("reports Helm values that break values.schema.json", () => {
    const root = fixture();
    editYaml(root, PATHS.values, (doc: Any) => {
      doc.image.pullPolicy = "Sometimes";
      doc.replicaCount = 3;
      doc.config.DATABASE_URL = "postgres://leaked";
    });
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(/^helm\/consorcio\/values\.yaml: \/image\/pullPolicy .*allowed values/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/values\.yaml: \(root\) must NOT have additional properties \(replicaCount\)/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/values\.yaml: \/config\/DATABASE_URL/));
  });

  it("reports a Helm service that does not exist, with a wrong port and bad resources", () => {
    const root = fixture();
    editYaml(root, PATHS.values, (doc: Any) => {
      doc.services = {
        documentos: { enabled: true, port: 7004, replicas: -1, resources: { requests: { cpu: "lots" } } },
      };
    });
    const problems = problemsOf(root);
    expect(problems).toContain(
      "helm/consorcio/values.yaml: services.documentos: services/documentos/src/main.ts does not exist",
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/values\.yaml: \/services\/documentos\/replicas must be >= 0/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/values\.yaml: \/services\/documentos\/resources\/requests\/cpu/),
    );
  });

  it("reports a service name outside the catalog in the Helm values", () => {
    const root = fixture();
    editYaml(root, PATHS.values, (doc: Any) => {
      doc.services = { cobranca: { enabled: true, port: 7001, replicas: 1, resources: { requests: {} } } };
    });
    const problems = problemsOf(root);
    expect(problems).toContain("helm/consorcio/values.yaml: /services property name must be valid");
    expect(problems).toContain(
      "helm/consorcio/values.yaml: services.cobranca: services/cobranca/src/main.ts does not exist",
    );
  });

  it("reports identidade's secret key passed as a plain value instead of a secretKeyRef", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/_helpers.tpl`, (t) =>
      t.replace(
        /- name: IDENTIDADE_SECRET_KEY\n\s*valueFrom:\n(?:\s+.*\n){3}/,
        '- name: IDENTIDADE_SECRET_KEY\n  value: "in-the-chart"\n',
      ),
    );
    expect(problemsOf(root)).toContain(
      "helm/consorcio/templates/_helpers.tpl: IDENTIDADE_SECRET_KEY must come from a secretKeyRef",
    );
  });

  it("reports the personal-data keys missing or passed as plain values instead of secretKeyRefs", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/_helpers.tpl`, (t) =>
      t
        .replace(
          /- name: PII_INDEX_KEY\n\s*valueFrom:\n(?:\s+.*\n){3}/,
          '- name: PII_INDEX_KEY\n  value: "in-the-chart"\n',
        )
        .replace(/- name: PII_MASTER_KEY\n\s*valueFrom:\n(?:\s+.*\n){3}/, ""),
    );
    const problems = problemsOf(root);
    expect(problems).toContain(
      "helm/consorcio/templates/_helpers.tpl: PII_INDEX_KEY must come from a secretKeyRef",
    );
    expect(problems).toContain(
      "helm/consorcio/templates/_helpers.tpl: PII_MASTER_KEY must come from a secretKeyRef",
    );
  });

  it("refuses the personal-data keys as plain Helm values", () => {
    const root = fixture();
    editYaml(root, PATHS.values, (doc: Any) => {
      doc.config.PII_INDEX_KEY = "leaked";
      doc.services.consorciados.env.PII_MASTER_KEY = "leaked";
    });
    const problems = problemsOf(root);
    expect(problems).toContainEqual(expect.stringMatching(/values\.yaml: \/config\/PII_INDEX_KEY/));
    expect(problems).toContainEqual(
      expect.stringMatching(/values\.yaml: \/services\/consorciados\/env property name must be valid/),
    );
  });

  it("reports a template reading a value the schema does not declare", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/deployment.yaml`, (t) =>
      t.replace("replicas: {{ $svc.replicas }}", "replicas: {{ $svc.replicaCount }}"),
    );
    expect(problemsOf(root)).toContain(
      "helm/consorcio/templates/deployment.yaml: reads service.replicaCount, which values.schema.json does not declare",
    );
  });

  it("reports a TCP liveness probe and a probe without a timeout", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/deployment.yaml`, (t) =>
      t
        .replace(
          /livenessProbe:\n(\s*)grpc:\n(\s*)port: (.*)\n\s*service: liveness/,
          "livenessProbe:\n$1tcpSocket:\n$2port: $3",
        )
        .replace(/(readinessProbe:[\s\S]*?)\n\s*timeoutSeconds: [^\n]*/, "$1"),
    );
    const problems = problemsOf(root);
    expect(problems).toContain(
      "helm/consorcio/templates/deployment.yaml: livenessProbe must be a gRPC health probe on the service port with a timeout",
    );
    expect(problems).toContain(
      "helm/consorcio/templates/deployment.yaml: readinessProbe must be a gRPC health probe on the service port with a timeout",
    );
  });

  it("reports compose services holding the migration role's credentials, or migrating themselves", () => {
    const root = fixture();
    edit(root, PATHS.compose, (t) =>
      t
        .replace(
          "      DATABASE_URL: postgres://consorcio_auditoria:consorcio_auditoria@postgres:5432/consorcio_auditoria\n",
          "      DATABASE_URL: postgres://consorcio_auditoria_migrator:x@postgres:5432/consorcio_auditoria\n" +
            "      MIGRATION_DATABASE_URL: postgres://consorcio_auditoria_migrator:x@postgres:5432/consorcio_auditoria\n" +
            '      MIGRATE_ON_START: "true"\n',
        )
        .replace("      auditoria-migrate: { condition: service_completed_successfully }\n", "")
        .replace(
          "      DATABASE_SERVICE_ROLE: consorcio_consorciados\n",
          "      DATABASE_SERVICE_ROLE: consorcio_consorciados_migrator\n" +
            "      DATABASE_URL: postgres://consorcio_consorciados:x@postgres:5432/consorcio_consorciados\n",
        )
        .replace(
          "postgres://consorcio_identidade_migrator:consorcio_identidade_migrator@",
          "postgres://consorcio_identidade:consorcio_identidade@",
        ),
    );
    expect(problemsOf(root).sort()).toEqual([
      "docker-compose.yml: auditoria: DATABASE_URL must name database consorcio_auditoria on postgres:5432, as role consorcio_auditoria",
      "docker-compose.yml: auditoria: MIGRATE_ON_START: migrations run in auditoria-migrate",
      "docker-compose.yml: auditoria: MIGRATION_DATABASE_URL belongs to auditoria-migrate only",
      "docker-compose.yml: auditoria: must depend on auditoria-migrate with condition service_completed_successfully",
      "docker-compose.yml: consorciados-migrate: DATABASE_SERVICE_ROLE must be consorcio_consorciados",
      "docker-compose.yml: consorciados-migrate: DATABASE_URL is the service's; consorciados-migrate needs only the migration role",
      "docker-compose.yml: identidade-migrate: MIGRATION_DATABASE_URL must name database consorcio_identidade on postgres:5432, as role consorcio_identidade_migrator",
    ]);
  });

  it("reports a migrate Job with the service's secrets, and pods with the migration role's", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/migrate-job.yaml`, (t) =>
      t.replace(
        'include "consorcio.migrateEnv" (dict "root" $ "name" $name "svc" $svc)',
        'include "consorcio.serviceEnv" (dict "root" $ "name" $name "svc" $svc)',
      ),
    );
    edit(root, `${PATHS.templates}/_helpers.tpl`, (t) =>
      t.replace(
        "- name: DATABASE_URL\n",
        "- name: MIGRATION_DATABASE_URL\n  valueFrom:\n    secretKeyRef:\n      name: x\n      key: y\n- name: DATABASE_URL\n",
      ),
    );
    expect(problemsOf(root).sort()).toEqual([
      "helm/consorcio/templates/_helpers.tpl: consorcio.serviceEnv must carry DATABASE_URL, never MIGRATION_DATABASE_URL",
      'helm/consorcio/templates/migrate-job.yaml: must take its environment from "consorcio.migrateEnv" only',
    ]);
  });

  it("reports the migration role's URL passed as a plain value, and the service's URL in the Job", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/_helpers.tpl`, (t) =>
      t.replace(
        /- name: MIGRATION_DATABASE_URL\n\s*valueFrom:\n(?:\s+.*\n){3}/,
        '- name: MIGRATION_DATABASE_URL\n  value: "postgres://in-the-chart"\n',
      ),
    );
    expect(problemsOf(root)).toEqual([
      "helm/consorcio/templates/_helpers.tpl: MIGRATION_DATABASE_URL must come from a secretKeyRef",
    ]);
    const other = fixture();
    edit(other, `${PATHS.templates}/_helpers.tpl`, (t) =>
      t.replace(
        "- name: DATABASE_SERVICE_ROLE\n",
        "- name: DATABASE_URL\n  valueFrom:\n    secretKeyRef:\n      name: x\n      key: y\n- name: DATABASE_SERVICE_ROLE\n",
      ),
    );
    expect(problemsOf(other)).toEqual([
      "helm/consorcio/templates/_helpers.tpl: consorcio.migrateEnv must carry MIGRATION_DATABASE_URL and DATABASE_SERVICE_ROLE, and no secret but AMQP_URL",
    ]);
  });

  it("reports a migrate Job that is not a pre-install,pre-upgrade hook, and a shipped Secret", () => {
    const root = fixture();
    edit(root, `${PATHS.templates}/migrate-job.yaml`, (t) =>
      t.replace("pre-install,pre-upgrade", "post-install"),
    );
    write(
      root,
      `${PATHS.templates}/secret.yaml`,
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n",
    );
    const problems = problemsOf(root);
    expect(problems).toContain(
      'helm/consorcio/templates/migrate-job.yaml: must be a "pre-install,pre-upgrade" hook',
    );
    expect(problems).toContain(
      "helm/consorcio/templates/secret.yaml: defines a Secret: secrets are referenced, never shipped",
    );
  });

  it("reports a new service folder missing from compose, Helm, Envoy and Istio", () => {
    const root = fixture();
    write(root, "services/documentos/src/main.ts", "// service\n");
    const problems = problemsOf(root);
    expect(problems).toContain(
      "docker-compose.yml: no service entry for documentos (services/documentos/src/main.ts exists)",
    );
    expect(problems).toContain(
      "docker-compose.yml: no documentos-migrate entry (services/documentos/src/main.ts exists)",
    );
    expect(problems).toContain(
      "helm/consorcio/values.yaml: services.documentos is missing (services/documentos/src/main.ts exists)",
    );
    expect(problems).toContain(
      "envoy/envoy.yaml: no cluster for documentos (services/documentos/src/main.ts exists)",
    );
    expect(problems).toContain(
      "envoy/envoy.yaml: no route with prefix /consorcio.documentos.v1. for documentos",
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^istio\/services\/documentos\.yaml: needs the allow policy of documentos/),
    );
  });

  it("accepts a service added everywhere, transcoder included", () => {
    const root = fixture();
    addService(root, "documentos", "DocumentoService");
    writeDescriptor(root, ["consorcio.documentos.v1.DocumentoService"]);
    const result = checkDeploy(root);
    expect(result.services).toContain("documentos");
    expect(result.protoServices).toContain("consorcio.documentos.v1.DocumentoService");
    expect(result.protoServices).not.toContain("consorcio.documentos.v1.Commented");
    expect(result.problems).toEqual([]);
  });

  it("checks the transcoder's services against the descriptor set Envoy loads", () => {
    const root = fixture();
    addService(root, "documentos", "DocumentoService");
    writeDescriptor(root, ["consorcio.documentos.v1.OtherService"]);
    expect(problemsOf(root)).toEqual([
      "envoy/descriptor.binpb: does not contain consorcio.documentos.v1.DocumentoService, which the transcoder lists",
    ]);
    rmSync(join(root, PATHS.envoyDescriptor));
    expect(problemsOf(root)).toEqual([
      "envoy/descriptor.binpb: missing: the transcoder loads it (generated by `buf build`)",
    ]);
  });

  it("reports a transcoder whose services differ from the protos", () => {
    const root = fixture();
    addService(root, "documentos", "DocumentoService");
    edit(root, PATHS.envoy, (t) =>
      t.replace("consorcio.documentos.v1.DocumentoService", "consorcio.documentos.v1.OtherService"),
    );
    expect(problemsOf(root)).toContainEqual(
      expect.stringMatching(
        /grpc_json_transcoder services must be \[.*consorcio\.documentos\.v1\.DocumentoService.*\], found .*OtherService/,
      ),
    );
  });

  it("reports entries for a service whose folder is gone", () => {
    const root = fixture();
    addService(root, "documentos", "DocumentoService");
    rmSync(join(root, "services/documentos"), { recursive: true });
    const problems = problemsOf(root);
    expect(problems).toContain(
      'docker-compose.yml: service "documentos" has no services/documentos/src/main.ts: it does not exist',
    );
    expect(problems).toContain(
      'docker-compose.yml: service "documentos-migrate" migrates documentos, which has no services/documentos/src/main.ts',
    );
    expect(problems).toContain(
      'envoy/envoy.yaml: cluster "documentos": services/documentos/src/main.ts does not exist',
    );
    expect(problems).toContain(
      "helm/consorcio/values.yaml: services.documentos: services/documentos/src/main.ts does not exist",
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/documentos-allow-callers: selects documentos, which is not an existing/),
    );
    // The transcoder names a proto service of documentos, which no longer counts (were no domain
    // service left, the filter itself would have to go: Envoy rejects an empty list).
    expect(problems).toContainEqual(expect.stringMatching(/grpc_json_transcoder/));
  });

  it("reports ports that differ from the catalog", () => {
    const root = fixture();
    addService(root, "documentos", "DocumentoService");
    edit(root, PATHS.compose, (t) => t.replace(/^( +)PORT: "7006"$/m, '$1PORT: "7060"'));
    edit(root, "istio/services/documentos.yaml", (t) => t.replace('"7006"', '"7060"'));
    edit(root, PATHS.envoy, (t) => t.replace("port_value: 7006", "port_value: 7060"));
    const problems = problemsOf(root);
    expect(problems).toContain("docker-compose.yml: documentos: PORT is 7060, the catalog says 7006");
    expect(problems).toContainEqual(
      expect.stringMatching(/istio\/services\/documentos\.yaml: documentos-allow-callers: port 7060/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/cluster documentos must point at documentos:7006, found documentos:7060/),
    );
  });

  it("reports a folder under services/ that is not in the catalog", () => {
    const root = fixture();
    write(root, "services/cobranca/src/main.ts", "");
    expect(problemsOf(root)).toContain(
      'services/cobranca: has src/main.ts but "cobranca" is not in the service catalog',
    );
  });

  it("reports Envoy filters out of order and routes to undefined clusters", () => {
    const root = fixture();
    editYaml(root, PATHS.envoy, (doc: Any) => {
      const hcm = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
      const filters = hcm.http_filters;
      [filters[0], filters[1]] = [filters[1], filters[0]];
      hcm.route_config.virtual_hosts[0].routes.unshift({
        match: { prefix: "/x." },
        route: { cluster: "nowhere" },
      });
    });
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^envoy\/envoy\.yaml: http_filters must be \[envoy\.filters\.http\.cors, envoy\.filters\.http\.jwt_authn/,
      ),
    );
    expect(problems).toContain(
      'envoy/envoy.yaml: a route or provider refers to cluster "nowhere", which is not defined',
    );
  });

  it("reports a JWT provider without the identidade JWKS or the payload header", () => {
    const root = fixture();
    edit(root, PATHS.envoy, (t) =>
      t
        .replace("uri: http://identidade:7001/.well-known/jwks.json", "uri: http://identidade:7002/jwks")
        .replace("forward_payload_header: x-jwt-payload", 'forward_payload_header: ""'),
    );
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(/remote JWKS must be http:\/\/identidade:7001\/\.well-known\/jwks\.json/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/forward_payload_header is not set/));
  });

  it("reports compose interpolations without a default, unknown depends_on and missing mounts", () => {
    const root = fixture();
    edit(root, PATHS.compose, (t) =>
      t
        .replace("REDIS_URL: redis://redis:6379", `REDIS_URL: redis://\${REDIS_HOST}:6379`)
        .replace(
          "minio: { condition: service_healthy }\n    environment:",
          "minio: { condition: service_healthy }\n      s3: { condition: service_started }\n    environment:",
        )
        .replace("./scripts/sql/create-databases.sql:", "./scripts/sql/missing.sql:"),
    );
    const problems = problemsOf(root);
    expect(problems).toContainEqual(expect.stringMatching(/\$\{REDIS_HOST\} is defined nowhere/));
    expect(problems).toContain(
      'docker-compose.yml: minio-init: depends_on "s3", which is not a service here',
    );
    expect(problems).toContain(
      "docker-compose.yml: postgres: mounts ./scripts/sql/missing.sql, which does not exist in the repository",
    );
  });

  it("reports a YAML syntax error and a duplicate key", () => {
    const root = fixture();
    edit(root, PATHS.chartYaml, (t) => `${t}name: again\n`);
    edit(root, "istio/peer-authentication.yaml", (t) => t.replace("mode: STRICT", "mode: [STRICT"));
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(/^helm\/consorcio\/Chart\.yaml: YAML: Map keys must be unique/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^istio\/peer-authentication\.yaml: YAML: /));
  });

  it("reports weakened mTLS, a missing deny-all and an unlisted manifest", () => {
    const root = fixture();
    edit(root, "istio/peer-authentication.yaml", (t) => t.replace("mode: STRICT", "mode: PERMISSIVE"));
    edit(root, "istio/authorization-deny-all.yaml", (t) =>
      t.replace("spec: {}", "spec:\n  action: ALLOW\n  rules: [{}]"),
    );
    write(
      root,
      "istio/extra.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: consorcio\n",
    );
    const problems = problemsOf(root);
    expect(problems).toContain(
      "istio: needs a namespace-wide PeerAuthentication with mtls.mode STRICT in consorcio",
    );
    expect(problems).toContain(
      "istio/peer-authentication.yaml: PeerAuthentication default: mode PERMISSIVE weakens mTLS",
    );
    expect(problems).toContain("istio: needs a deny-all AuthorizationPolicy (spec: {}) in the namespace");
    expect(problems).toContain("istio/kustomization.yaml: does not list istio/extra.yaml");
  });

  it("reports a stale create-databases.sql", () => {
    const root = fixture();
    edit(root, PATHS.sql, (t) => t.replace("('consorcio_documentos'),\n", ""));
    expect(problemsOf(root)).toContain(
      "scripts/sql/create-databases.sql: stale: regenerate with `npx node scripts/create-databases-sql.ts`",
    );
  });
});

describe("check:deploy on the observability files", () => {
  it("reports a dashboard that breaks Grafana's schema, is stale, or is missing", () => {
    const root = fixture();
    const rel = `${PATHS.dashboards}/sorteios.json`;
    const doc = JSON.parse(read(root, rel));
    delete doc.schemaVersion;
    doc.panels[1].gridPos.w = 30;
    doc.panels[1].legend = "not a panel field";
    write(root, rel, JSON.stringify(doc));
    rmSync(join(root, PATHS.dashboards, "overview.json"));
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(/sorteios\.json: Grafana dashboard schema: .*schemaVersion/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/sorteios\.json: Grafana dashboard schema: \/panels\/1\/gridPos\/w/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/sorteios\.json: Grafana dashboard schema: .*additional properties \(legend\)/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/sorteios\.json: stale/));
    expect(problems).toContainEqual(expect.stringMatching(/overview\.json: missing/));
  });

  it("reports alerts that break the PrometheusRule CRD, lack a runbook, or are missing", () => {
    const root = fixture();
    editYaml(root, PATHS.alerts, (doc: Any) => {
      const [rpc] = doc.groups;
      rpc.rules[0].for = "ten minutes";
      rpc.rules[1].severity = "warning";
      rpc.rules[2].annotations.runbook = "docs/runbooks.md#no-such-heading";
      rpc.rules = rpc.rules.filter((rule: Any) => rule.alert !== "ConsorcioHighLatency");
      doc.groups.push({ interval: "1m", rules: [] });
    });
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(
        /alerts\.yaml: PrometheusRule CRD schema: \/spec\/groups\/0\/rules\/0\/for must match pattern/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /alerts\.yaml: PrometheusRule CRD schema: \/spec\/groups\/3 must have required property 'name'/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/alerts\.yaml: alert ConsorcioHighLatency is missing/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/ConsorcioNotServing: docs\/runbooks\.md has no heading #no-such-heading/),
    );
  });

  it("reports an unknown rule field (strict field validation) and a template outside its switch", () => {
    const root = fixture();
    editYaml(root, PATHS.alerts, (doc: Any) => {
      doc.groups[0].rules[0].severity = "critical";
    });
    edit(root, `${PATHS.templates}/servicemonitor.yaml`, (text) => text.replace(/^\{\{- if [^\n]+\n/, ""));
    const problems = problemsOf(root);
    expect(problems).toContainEqual(
      expect.stringMatching(
        /alerts\.yaml: PrometheusRule CRD schema: \/spec\/groups\/0\/rules\/0 must NOT have additional properties \(severity\)/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /servicemonitor\.yaml: must be wrapped in \{\{- if \.Values\.metrics\.serviceMonitor\.enabled \}\}/,
      ),
    );
  });
});
