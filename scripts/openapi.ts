// OpenAPI 3.1 for partners, from the same descriptors as everything else (DESIGN.md §3):
// paths from the google.api.http rules, schemas from the messages in their proto3 JSON mapping,
// constraints from protovalidate, security from the consorcio.auth.v1.policy of each RPC.
//
//   npx node scripts/openapi.ts                                   the shipped module, to stdout
//   npx node scripts/openapi.ts --module services/platform/test/proto [--out file.yaml]
//
// `npm run generate` writes openapi/consorcio.openapi.yaml with it.
import { writeFileSync } from "node:fs";
import {
  createFileRegistry,
  type DescEnum,
  type DescExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  getExtension,
  hasExtension,
  ScalarType,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { getComments } from "@bufbuild/protoplugin";
import {
  type FieldRules,
  field as fieldRulesExt,
  file_buf_validate_validate,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import type { Policy } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import type { HttpRule } from "@consorcio/gen/google/api/http_pb.js";
import { Validator } from "@seriousme/openapi-schema-validator";
import { stringify } from "yaml";
import { buildModule, SHIPPED_MODULE } from "./buf.ts";

// --- the document's shapes (only what we emit) -------------------------------------------------

export interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  propertyNames?: Schema;
  items?: Schema;
  enum?: (string | number | boolean | null)[];
  const?: string | number | boolean;
  not?: Schema;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  readOnly?: boolean;
  writeOnly?: boolean;
  deprecated?: boolean;
  examples?: unknown[];
}

interface Parameter {
  name: string;
  in: "path" | "query";
  required: boolean;
  description?: string;
  deprecated?: boolean;
  schema: Schema;
}

interface Operation {
  operationId: string;
  tags: string[];
  summary?: string;
  description?: string;
  deprecated?: boolean;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: { "application/json": { schema: Schema } } };
  responses: Record<string, unknown>;
  security?: Record<string, string[]>[];
  "x-consorcio-policy": PolicyExtension;
}

interface PolicyExtension {
  public?: true;
  roles?: string[];
  ownerRoles?: string[];
  ownerField?: string;
  /** No policy: the platform denies every caller. */
  denyAll?: true;
}

type HttpMethod = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";
const HTTP_METHODS: HttpMethod[] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers?: { url: string; description: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  components: {
    securitySchemes: Record<string, unknown>;
    responses: Record<string, unknown>;
    schemas: Record<string, Schema>;
  };
}

// --- options we read ---------------------------------------------------------------------------

const FIELD_BEHAVIOR_REQUIRED = 2;
const FIELD_BEHAVIOR_OUTPUT_ONLY = 3;
const FIELD_BEHAVIOR_INPUT_ONLY = 4;
const FIELD_BEHAVIOR_IDENTIFIER = 8;
const STATUS_SCHEMA = "google.rpc.Status";
const BEARER = "bearerAuth";

function extension(registry: FileRegistry, name: string): DescExtension | undefined {
  return registry.getExtension(name);
}

/** The google.api.http rule of an RPC, if any. */
export function httpRule(registry: FileRegistry, method: DescMethod): HttpRule | undefined {
  const ext = extension(registry, "google.api.http");
  const options = method.proto.options;
  if (!ext || !options || !hasExtension(options, ext)) return undefined;
  return getExtension(options, ext) as HttpRule;
}

/** The consorcio.auth.v1.policy of an RPC, if any. */
export function policyOf(registry: FileRegistry, method: DescMethod): Policy | undefined {
  const ext = extension(registry, "consorcio.auth.v1.policy");
  const options = method.proto.options;
  if (!ext || !options || !hasExtension(options, ext)) return undefined;
  return getExtension(options, ext) as Policy;
}

function fieldRules(field: DescField): FieldRules | undefined {
  const options = field.proto.options;
  return options && hasExtension(options, fieldRulesExt) ? getExtension(options, fieldRulesExt) : undefined;
}

function fieldBehaviors(registry: FileRegistry, field: DescField): number[] {
  const ext = extension(registry, "google.api.field_behavior");
  const options = field.proto.options;
  if (!ext || !options || !hasExtension(options, ext)) return [];
  return getExtension(options, ext) as number[];
}

/** The services declared in the given files, sorted by full name. */
export function servicesOf(registry: FileRegistry, files: string[]): DescService[] {
  return files
    .flatMap((name) => registry.getFile(name)?.services ?? [])
    .sort((a, b) => a.typeName.localeCompare(b.typeName));
}

// --- comments ----------------------------------------------------------------------------------

function commentOf(desc: DescMessage | DescEnum | DescField | DescService | DescMethod): string | undefined {
  const text = getComments(desc).leading?.trim();
  if (!text) return undefined;
  return text
    .split("\n")
    .map((l) => l.replace(/^ /, "").trimEnd())
    .join("\n");
}

/** First sentence (or line) of a comment, for an operation summary. */
function summaryOf(comment: string | undefined): string | undefined {
  if (!comment) return undefined;
  const firstParagraph = comment.split(/\n\s*\n/)[0]?.replace(/\s*\n\s*/g, " ") ?? "";
  const sentence = /^(.+?[.!?])(\s|$)/.exec(firstParagraph)?.[1] ?? firstParagraph;
  return sentence.length > 0 ? sentence : undefined;
}

// --- schemas -----------------------------------------------------------------------------------

/** Well-known types with a special proto3 JSON representation: inlined, never referenced. */
const WELL_KNOWN: Record<string, () => Schema> = {
  "google.protobuf.Timestamp": () => ({ type: "string", format: "date-time" }),
  "google.protobuf.Duration": () => ({
    type: "string",
    pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
    description: "Duration in seconds with an `s` suffix, e.g. `1.5s`.",
  }),
  "google.protobuf.FieldMask": () => ({
    type: "string",
    description: "Comma-separated field paths in lowerCamelCase, e.g. `nome,dataInicio`.",
  }),
  "google.protobuf.Struct": () => ({ type: "object", additionalProperties: true }),
  "google.protobuf.Value": () => ({}),
  "google.protobuf.ListValue": () => ({ type: "array", items: {} }),
  "google.protobuf.Empty": () => ({ type: "object" }),
  "google.protobuf.Any": () => ({
    type: "object",
    properties: { "@type": { type: "string" } },
    required: ["@type"],
    additionalProperties: true,
  }),
  "google.protobuf.DoubleValue": () => ({ type: "number", format: "double" }),
  "google.protobuf.FloatValue": () => ({ type: "number", format: "float" }),
  "google.protobuf.Int64Value": () => ({ type: "string", format: "int64" }),
  "google.protobuf.UInt64Value": () => ({ type: "string", format: "uint64" }),
  "google.protobuf.Int32Value": () => ({ type: "integer", format: "int32" }),
  "google.protobuf.UInt32Value": () => ({ type: "integer", format: "uint32", minimum: 0 }),
  "google.protobuf.BoolValue": () => ({ type: "boolean" }),
  "google.protobuf.StringValue": () => ({ type: "string" }),
  "google.protobuf.BytesValue": () => ({ type: "string", format: "byte" }),
};

/** 64-bit integers are strings in proto3 JSON. */
function is64Bit(scalar: ScalarType): boolean {
  return (
    scalar === ScalarType.INT64 ||
    scalar === ScalarType.UINT64 ||
    scalar === ScalarType.SINT64 ||
    scalar === ScalarType.FIXED64 ||
    scalar === ScalarType.SFIXED64
  );
}

function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64" };
  }
}

const STRING_FORMATS: Record<string, string> = {
  email: "email",
  hostname: "hostname",
  ipv4: "ipv4",
  ipv6: "ipv6",
  uri: "uri",
  uriRef: "uri-reference",
  uuid: "uuid",
};

const STRING_PATTERNS: Record<string, string> = {
  tuuid: "^[0-9a-fA-F]{32}$",
  ulid: "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$",
};

/** A rule value as JSON: numbers for numeric keywords; 64-bit values kept as strings where JSON has them so. */
function num(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : (value as number);
}

/**
 * Applies the protovalidate rules of one value (a scalar, an enum, or an element of a list/map)
 * to its schema. Rules without a JSON Schema counterpart (CEL, prefixes, timestamps…) are left
 * to the server, which enforces all of them anyway.
 */
function applyValueRules(schema: Schema, rules: FieldRules, field: DescField, enumDesc?: DescEnum): void {
  const { type } = rules;
  if (type.case === undefined) return;
  const r = reflect(rulesDesc(type.value.$typeName), type.value);
  const string64 = field.scalar !== undefined && is64Bit(field.scalar);
  const jsonValue = (v: unknown) => (string64 ? String(v) : typeof v === "bigint" ? Number(v) : v);
  for (const f of r.fields) {
    if (!r.isSet(f)) continue;
    const v = r.get(f);
    const list = () => [...(v as Iterable<unknown>)];
    switch (`${type.case}.${f.localName}`) {
      // strings
      case "string.const":
      case "bool.const":
        schema.const = v as string | boolean;
        break;
      case "string.len":
        schema.minLength = num(v);
        schema.maxLength = num(v);
        break;
      case "string.minLen":
        schema.minLength = num(v);
        break;
      case "string.maxLen":
        schema.maxLength = num(v);
        break;
      case "string.pattern":
        schema.pattern = v as string;
        break;
      case "string.in":
        schema.enum = list() as string[];
        break;
      case "string.notIn":
        schema.not = { enum: list() as string[] };
        break;
      case "string.example":
        schema.examples = list();
        break;
      // enums
      case "enum.const":
      case "enum.in":
      case "enum.notIn": {
        // The value set narrows: inline the enum as a string schema instead of referencing it.
        const names = (numbers: unknown[]) =>
          numbers.map((n) => enumDesc?.values.find((x) => x.number === n)?.name ?? String(n));
        if (schema.$ref !== undefined) {
          delete schema.$ref;
          schema.type = "string";
          if (enumDesc) schema.enum = enumDesc.values.map((x) => x.name);
        }
        if (f.localName === "const") schema.const = names([v])[0] as string;
        else if (f.localName === "in") schema.enum = names(list());
        else schema.not = { enum: names(list()) };
        break;
      }
      // lists and maps
      case "repeated.minItems":
        schema.minItems = num(v);
        break;
      case "repeated.maxItems":
        schema.maxItems = num(v);
        break;
      case "repeated.unique":
        schema.uniqueItems = v as boolean;
        break;
      case "map.minPairs":
        schema.minProperties = num(v);
        break;
      case "map.maxPairs":
        schema.maxProperties = num(v);
        break;
      default:
        // numbers (float, double, [u|s]int32/64, [s]fixed32/64): the same field names everywhere
        switch (f.localName) {
          case "const":
            schema.const = jsonValue(v) as number;
            break;
          case "lt":
            schema.exclusiveMaximum = num(v);
            break;
          case "lte":
            schema.maximum = num(v);
            break;
          case "gt":
            schema.exclusiveMinimum = num(v);
            break;
          case "gte":
            schema.minimum = num(v);
            break;
          case "in":
            schema.enum = list().map(jsonValue) as (string | number)[];
            break;
          case "notIn":
            schema.not = { enum: list().map(jsonValue) as (string | number)[] };
            break;
          case "example":
            schema.examples = list().map(jsonValue);
            break;
        }
    }
  }
  // Well-known string formats (a oneof, so read it from the typed message).
  if (type.case === "string") {
    const wk = type.value.wellKnown;
    if (wk.case !== undefined && wk.value !== false) {
      const format = STRING_FORMATS[wk.case];
      const pattern = STRING_PATTERNS[wk.case];
      if (format) schema.format = format;
      else if (pattern && schema.pattern === undefined) schema.pattern = pattern;
      else if (wk.case === "ip")
        schema.description = appendSentence(schema.description, "An IPv4 or IPv6 address.");
    }
  }
}

/** Descriptor of a protovalidate rules message (StringRules, Int64Rules…). */
function rulesDesc(typeName: string): DescMessage {
  const desc = file_buf_validate_validate.messages.find((m) => m.typeName === typeName);
  if (!desc) throw new Error(`unknown rules message ${typeName}`);
  return desc;
}

const IDENTIFIER_NOTE =
  "Identifier: assigned by the service in a create (read-only there, ignored if sent); an update sends it as read.";

function appendSentence(text: string | undefined, sentence: string): string {
  return text ? `${text}\n\n${sentence}` : sentence;
}

class SchemaBuilder {
  readonly schemas = new Map<string, Schema>();
  private readonly pending: (DescMessage | DescEnum)[] = [];

  private readonly registry: FileRegistry;

  constructor(registry: FileRegistry) {
    this.registry = registry;
  }

  ref(desc: DescMessage | DescEnum): Schema {
    if (!this.schemas.has(desc.typeName) && !this.pending.includes(desc)) this.pending.push(desc);
    return { $ref: `#/components/schemas/${desc.typeName}` };
  }

  /** Builds every schema referenced so far (and those they reference). */
  flush(): void {
    for (let desc = this.pending.shift(); desc !== undefined; desc = this.pending.shift()) {
      if (this.schemas.has(desc.typeName)) continue;
      this.schemas.set(desc.typeName, {}); // placeholder against cycles
      this.schemas.set(
        desc.typeName,
        desc.kind === "enum" ? this.enumSchema(desc) : this.messageSchema(desc),
      );
    }
  }

  enumSchema(desc: DescEnum): Schema {
    if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
    const schema: Schema = { type: "string", enum: desc.values.map((v) => v.name) };
    const comment = commentOf(desc);
    if (comment) schema.description = comment;
    return schema;
  }

  /** The JSON object of a message; `omit` leaves out fields bound elsewhere (path parameters). */
  messageSchema(desc: DescMessage, omit: ReadonlySet<string> = new Set()): Schema {
    const wellKnown = WELL_KNOWN[desc.typeName];
    if (wellKnown) return wellKnown();
    const schema: Schema = { type: "object" };
    const comment = commentOf(desc);
    if (comment) schema.description = comment;
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const field of desc.fields) {
      if (omit.has(field.name)) continue;
      const { schema: fieldSchema, required: isRequired } = this.fieldSchema(field);
      properties[field.jsonName] = fieldSchema;
      if (isRequired) required.push(field.jsonName);
    }
    schema.properties = properties;
    if (required.length > 0) schema.required = required;
    return schema;
  }

  /** The schema of a field's value, annotated with its comment and constraints. */
  fieldSchema(field: DescField): { schema: Schema; required: boolean } {
    const rules = fieldRules(field);
    let schema: Schema;
    switch (field.fieldKind) {
      case "scalar":
        schema = scalarSchema(field.scalar);
        if (rules) applyValueRules(schema, rules, field);
        break;
      case "enum":
        schema = this.ref(field.enum);
        if (rules) applyValueRules(schema, rules, field, field.enum);
        break;
      case "message":
        schema = this.messageRef(field.message);
        break;
      case "list": {
        const items =
          field.listKind === "scalar"
            ? scalarSchema(field.scalar)
            : field.listKind === "enum"
              ? this.ref(field.enum)
              : this.messageRef(field.message);
        if (rules?.type.case === "repeated" && rules.type.value.items) {
          applyValueRules(
            items,
            rules.type.value.items,
            field,
            field.listKind === "enum" ? field.enum : undefined,
          );
        }
        schema = { type: "array", items };
        if (rules) applyValueRules(schema, rules, field);
        break;
      }
      case "map": {
        const values =
          field.mapKind === "scalar"
            ? scalarSchema(field.scalar)
            : field.mapKind === "enum"
              ? this.ref(field.enum)
              : this.messageRef(field.message);
        schema = { type: "object", additionalProperties: values };
        if (rules?.type.case === "map") {
          const { keys, values: valueRules } = rules.type.value;
          if (keys) {
            const names: Schema = { type: "string" };
            applyValueRules(names, keys, field);
            schema.propertyNames = names;
          }
          if (valueRules)
            applyValueRules(values, valueRules, field, field.mapKind === "enum" ? field.enum : undefined);
        }
        if (rules) applyValueRules(schema, rules, field);
        break;
      }
    }
    const comment = commentOf(field);
    if (comment) schema.description = schema.description ? `${comment}\n\n${schema.description}` : comment;
    const oneof = field.oneof && !field.proto.proto3Optional ? field.oneof : undefined;
    if (oneof) {
      const others = oneof.fields.filter((f) => f !== field).map((f) => `\`${f.jsonName}\``);
      schema.description = appendSentence(
        schema.description,
        `Member of the oneof \`${oneof.name}\`: at most one of this and ${others.join(", ")} may be set.`,
      );
    }
    const behaviors = fieldBehaviors(this.registry, field);
    if (behaviors.includes(FIELD_BEHAVIOR_OUTPUT_ONLY)) schema.readOnly = true;
    if (behaviors.includes(FIELD_BEHAVIOR_IDENTIFIER))
      schema.description = appendSentence(schema.description, IDENTIFIER_NOTE);
    if (behaviors.includes(FIELD_BEHAVIOR_INPUT_ONLY)) schema.writeOnly = true;
    if (field.deprecated) schema.deprecated = true;
    const required = rules?.required === true || behaviors.includes(FIELD_BEHAVIOR_REQUIRED);
    return { schema, required };
  }

  /** Whether a field of `desc`, or of a message it holds, is IDENTIFIER. */
  holdsIdentifier(desc: DescMessage, seen: Set<string> = new Set()): boolean {
    if (seen.has(desc.typeName) || WELL_KNOWN[desc.typeName]) return false;
    seen.add(desc.typeName);
    return desc.fields.some(
      (field) =>
        fieldBehaviors(this.registry, field).includes(FIELD_BEHAVIOR_IDENTIFIER) ||
        (field.fieldKind === "message" && this.holdsIdentifier(field.message, seen)),
    );
  }

  /**
   * A message as a Create request's body holds it (AIP-203): its IDENTIFIER fields, and those of
   * the messages it holds, are read-only there, since the server assigns them and ignores what is
   * sent. Elsewhere (an Update names its resource by them) the shared schema keeps them writable,
   * so this one is inline. A message without such fields keeps its reference.
   */
  createSchema(
    desc: DescMessage,
    omit: ReadonlySet<string> = new Set(),
    seen: Set<string> = new Set(),
  ): Schema {
    if (!this.holdsIdentifier(desc) || seen.has(desc.typeName))
      return omit.size > 0 ? this.messageSchema(desc, omit) : this.messageRef(desc);
    seen.add(desc.typeName);
    const schema = this.messageSchema(desc, omit);
    const properties = schema.properties ?? {};
    for (const field of desc.fields) {
      const property = properties[field.jsonName];
      if (!property) continue;
      if (fieldBehaviors(this.registry, field).includes(FIELD_BEHAVIOR_IDENTIFIER)) {
        property.readOnly = true;
      } else if (field.fieldKind === "message" && this.holdsIdentifier(field.message)) {
        const { description } = property;
        properties[field.jsonName] = {
          ...this.createSchema(field.message, new Set(), seen),
          ...(description ? { description } : {}),
        };
      }
    }
    seen.delete(desc.typeName);
    return schema;
  }

  messageRef(desc: DescMessage): Schema {
    const wellKnown = WELL_KNOWN[desc.typeName];
    return wellKnown ? wellKnown() : this.ref(desc);
  }
}

// --- paths -------------------------------------------------------------------------------------

interface PathVariable {
  fieldPath: string;
  pattern?: string;
}

/** `/v1/{name=grupos/*}:apurar` → `/v1/{name}:apurar` and its variables. */
function parsePathTemplate(template: string): { path: string; variables: PathVariable[] } {
  const variables: PathVariable[] = [];
  const path = template.replace(
    /\{([A-Za-z0-9_.]+)(?:=([^}]*))?\}/g,
    (_m, fieldPath: string, pattern?: string) => {
      variables.push(pattern === undefined || pattern === "*" ? { fieldPath } : { fieldPath, pattern });
      return `{${fieldPath}}`;
    },
  );
  return { path, variables };
}

/** Resolves a dotted proto field path (`grupo.id`) in a message. */
function resolveFieldPath(desc: DescMessage, fieldPath: string): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = desc;
  for (const name of fieldPath.split(".")) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name);
    if (!field) throw new Error(`${desc.typeName} has no field ${fieldPath}`);
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

/**
 * Query parameters for the request fields bound to neither the path nor the body: scalars,
 * enums and repeated scalars by their JSON names, nested messages flattened into dotted names
 * (`filtro.status`), up to three levels and without cycles. Maps and repeated messages cannot
 * be query parameters.
 */
function queryParameters(
  builder: SchemaBuilder,
  desc: DescMessage,
  bound: ReadonlySet<string>,
  protoPrefix = "",
  jsonPrefix = "",
  seen: ReadonlySet<string> = new Set([desc.typeName]),
): Parameter[] {
  const params: Parameter[] = [];
  for (const field of desc.fields) {
    const protoPath = protoPrefix === "" ? field.name : `${protoPrefix}.${field.name}`;
    const jsonPath = jsonPrefix === "" ? field.jsonName : `${jsonPrefix}.${field.jsonName}`;
    if (bound.has(protoPath)) continue;
    // Personal data (debug_redact) never goes in a URL: such a field has a POST binding instead.
    if (field.proto.options?.debugRedact) continue;
    if (field.fieldKind === "message" && WELL_KNOWN[field.message.typeName] === undefined) {
      if (seen.has(field.message.typeName) || seen.size >= 3) continue;
      const nestedSeen = new Set([...seen, field.message.typeName]);
      params.push(...queryParameters(builder, field.message, bound, protoPath, jsonPath, nestedSeen));
      continue;
    }
    if (field.fieldKind === "map" || (field.fieldKind === "list" && field.listKind === "message")) continue;
    const { schema, required } = builder.fieldSchema(field);
    params.push(parameter(jsonPath, "query", required, schema));
  }
  return params;
}

/** A parameter from a field's schema: description and deprecation move to the parameter. */
function parameter(
  name: string,
  where: "path" | "query",
  required: boolean,
  schema: Schema,
  note?: string,
): Parameter {
  const { description, deprecated, readOnly: _r, writeOnly: _w, ...rest } = schema;
  const text = [description, note].filter((t) => t !== undefined).join("\n\n");
  return {
    name,
    in: where,
    required,
    ...(text !== "" ? { description: text } : {}),
    ...(deprecated ? { deprecated } : {}),
    schema: rest,
  };
}

// --- the document ------------------------------------------------------------------------------

export interface BuildOptions {
  title: string;
  version: string;
  description: string;
  servers?: { url: string; description: string }[];
}

/** Builds the OpenAPI document of the services in `targets` (file names within `set`). */
export function buildOpenApi(
  set: FileDescriptorSet,
  targets: string[],
  options: BuildOptions,
): OpenApiDocument {
  const registry = createFileRegistry(set);
  const builder = new SchemaBuilder(registry);
  const roleEnum = registry.getEnum("consorcio.auth.v1.Role");
  const roleName = (n: number) => roleEnum?.values.find((v) => v.number === n)?.name ?? String(n);

  const paths = new Map<string, Map<HttpMethod, Operation>>();
  const tags: { name: string; description?: string }[] = [];
  const operationIds = new Set<string>();

  for (const service of servicesOf(registry, targets)) {
    const serviceComment = commentOf(service);
    let tagged = false;
    for (const method of service.methods) {
      const rule = httpRule(registry, method);
      if (!rule) continue;
      if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
        console.warn(
          `openapi: ${method.parent.typeName}.${method.name} streams requests: not representable, skipped`,
        );
        continue;
      }
      if (!tagged) {
        tags.push(
          serviceComment ? { name: service.name, description: serviceComment } : { name: service.name },
        );
        tagged = true;
      }
      [rule, ...rule.additionalBindings].forEach((binding, index) => {
        const { pattern } = binding;
        if (pattern.case === undefined)
          throw new Error(`${method.parent.typeName}.${method.name}: HTTP rule without a pattern`);
        const httpMethod = (
          pattern.case === "custom" ? pattern.value.kind.toLowerCase() : pattern.case
        ) as HttpMethod;
        if (!HTTP_METHODS.includes(httpMethod)) throw new Error(`unsupported HTTP method ${httpMethod}`);
        const template = pattern.case === "custom" ? pattern.value.path : pattern.value;
        const operationId = `${service.name}_${method.name}${index === 0 ? "" : `_${index}`}`;
        if (operationIds.has(operationId)) throw new Error(`duplicate operationId ${operationId}`);
        operationIds.add(operationId);
        const { path, variables } = parsePathTemplate(template);
        const operation = buildOperation(
          builder,
          registry,
          method,
          binding,
          variables,
          operationId,
          roleName,
        );
        const item = paths.get(path) ?? new Map<HttpMethod, Operation>();
        if (item.has(httpMethod)) throw new Error(`two RPCs bound to ${httpMethod.toUpperCase()} ${path}`);
        item.set(httpMethod, operation);
        paths.set(path, item);
      });
    }
  }
  builder.flush();

  const sortedPaths: OpenApiDocument["paths"] = {};
  for (const path of [...paths.keys()].sort()) {
    const item = paths.get(path) ?? new Map();
    sortedPaths[path] = Object.fromEntries(
      HTTP_METHODS.filter((m) => item.has(m)).map((m) => [m, item.get(m)]),
    );
  }
  builder.schemas.set(STATUS_SCHEMA, {
    type: "object",
    description: "Error: the gRPC status code (google.rpc.Code), a message and typed details.",
    properties: {
      code: { type: "integer", format: "int32" },
      message: { type: "string" },
      details: { type: "array", items: WELL_KNOWN["google.protobuf.Any"]?.() ?? {} },
    },
  });
  const schemas: Record<string, Schema> = {};
  for (const name of [...builder.schemas.keys()].sort()) schemas[name] = builder.schemas.get(name) as Schema;

  return {
    openapi: "3.1.0",
    info: { title: options.title, version: options.version, description: options.description },
    ...(options.servers ? { servers: options.servers } : {}),
    security: [{ [BEARER]: [] }],
    tags: tags.sort((a, b) => a.name.localeCompare(b.name)),
    paths: sortedPaths,
    components: {
      securitySchemes: {
        [BEARER]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "Access token issued by consorcio.identidade.v1.AuthService (partners: OAuth 2.0 client credentials).",
        },
      },
      responses: {
        Error: {
          description: "The call failed: gRPC status code, message and details.",
          content: { "application/json": { schema: { $ref: `#/components/schemas/${STATUS_SCHEMA}` } } },
        },
      },
      schemas,
    },
  };
}

function buildOperation(
  builder: SchemaBuilder,
  registry: FileRegistry,
  method: DescMethod,
  rule: HttpRule,
  variables: PathVariable[],
  operationId: string,
  roleName: (n: number) => string,
): Operation {
  const input = method.input;
  const comment = commentOf(method);
  const summary = summaryOf(comment);
  const operation: Operation = {
    operationId,
    tags: [method.parent.name],
    ...(summary ? { summary } : {}),
    ...(comment && comment !== summary ? { description: comment } : {}),
    ...(method.deprecated ? { deprecated: true } : {}),
    responses: {},
    "x-consorcio-policy": { denyAll: true },
  };

  // Path parameters, then query parameters for whatever is bound to neither path nor body.
  const parameters: Parameter[] = [];
  const bound = new Set<string>();
  for (const variable of variables) {
    const fields = resolveFieldPath(input, variable.fieldPath);
    const leaf = fields.at(-1) as DescField;
    const note = variable.pattern ? `Matches the path pattern \`${variable.pattern}\`.` : undefined;
    parameters.push(parameter(variable.fieldPath, "path", true, builder.fieldSchema(leaf).schema, note));
    bound.add(variable.fieldPath);
  }
  // A Create's body: the server assigns the IDENTIFIER fields (read-only there).
  const creates = /^Create[A-Z]/.test(method.name);
  if (rule.body === "*") {
    // Top-level fields bound to the path leave the body (a nested one keeps its message there).
    const topLevel = new Set(variables.map((v) => v.fieldPath).filter((p) => !p.includes(".")));
    const schema = creates
      ? builder.createSchema(input, topLevel)
      : topLevel.size === 0
        ? builder.ref(input)
        : builder.messageSchema(input, topLevel);
    operation.requestBody = { required: true, content: { "application/json": { schema } } };
  } else {
    if (rule.body !== "") {
      const [bodyField] = resolveFieldPath(input, rule.body);
      if (!bodyField) throw new Error(`${input.typeName}: bad body ${rule.body}`);
      let schema = builder.fieldSchema(bodyField).schema;
      if (creates && bodyField.fieldKind === "message" && builder.holdsIdentifier(bodyField.message)) {
        const { description } = schema;
        schema = { ...builder.createSchema(bodyField.message), ...(description ? { description } : {}) };
      }
      operation.requestBody = { required: true, content: { "application/json": { schema } } };
      bound.add(rule.body);
    }
    parameters.push(...queryParameters(builder, input, bound));
  }
  if (parameters.length > 0) operation.parameters = parameters;

  // Response: the whole message, or the field named by response_body.
  let response: Schema;
  // A google.api.HttpBody answer is its bytes with its own content type, not a JSON message.
  let rawBody = method.output.typeName === "google.api.HttpBody";
  if (rule.responseBody === "") {
    response = builder.messageRef(method.output);
  } else {
    const [field] = resolveFieldPath(method.output, rule.responseBody);
    if (!field) throw new Error(`${method.output.typeName}: bad response_body ${rule.responseBody}`);
    response = builder.fieldSchema(field).schema;
    rawBody = field.fieldKind === "message" && field.message.typeName === "google.api.HttpBody";
  }
  if (rawBody) {
    const { description } = response;
    response = { type: "string", format: "binary", ...(description ? { description } : {}) };
  }
  if (method.methodKind === "server_streaming") response = { type: "array", items: response };
  operation.responses = {
    "200": { description: "OK", content: { [rawBody ? "*/*" : "application/json"]: { schema: response } } },
    default: { $ref: "#/components/responses/Error" },
  };

  // Authorization, from the RPC's policy (an RPC without one is denied to everybody).
  const policy = policyOf(registry, method);
  if (policy) {
    const ext: PolicyExtension = {};
    if (policy.public) {
      ext.public = true;
      operation.security = [];
    }
    if (policy.roles.length > 0) ext.roles = policy.roles.map(roleName);
    if (policy.ownerRoles.length > 0) ext.ownerRoles = policy.ownerRoles.map(roleName);
    if (policy.ownerField !== "") ext.ownerField = policy.ownerField;
    operation["x-consorcio-policy"] = ext;
  }
  // Stable, readable key order.
  const ordered = {} as Operation;
  for (const key of OPERATION_KEYS) {
    if (operation[key] !== undefined) Object.assign(ordered, { [key]: operation[key] });
  }
  return ordered;
}

const OPERATION_KEYS: (keyof Operation)[] = [
  "operationId",
  "tags",
  "summary",
  "description",
  "deprecated",
  "parameters",
  "requestBody",
  "responses",
  "security",
  "x-consorcio-policy",
];

// --- output ------------------------------------------------------------------------------------

export function toYaml(document: OpenApiDocument): string {
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false, sortMapEntries: false });
}

/** Errors of the document against the OpenAPI 3.1 schema, with every $ref resolved. */
export async function validateOpenApi(document: OpenApiDocument): Promise<string[]> {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);
  if (!result.valid) {
    return (Array.isArray(result.errors) ? result.errors : [result.errors]).map((e) =>
      typeof e === "string" ? e : JSON.stringify(e),
    );
  }
  try {
    validator.resolveRefs();
  } catch (e) {
    return [String(e)];
  }
  return [];
}

/** The OpenAPI document of a module of the workspace, validated. */
export async function openApiForModule(module: string): Promise<string> {
  const { set, targets } = buildModule(module, { sourceInfo: true });
  const document = buildOpenApi(set, targets, {
    title: "Consórcio platform API",
    version: "v1",
    description:
      "REST API of the consórcio platform, served by the Envoy edge from the same gRPC contracts " +
      `(google.api.http rules). Generated from ${module}/ by scripts/openapi.ts: do not edit.`,
    // `npm start` serves the same rules on its REST gateway (services/platform/src/rest-gateway.ts).
    servers: [
      {
        url: "http://127.0.0.1:8080",
        description: "Local mode (`npm start`): the REST gateway, in place of the Envoy edge",
      },
    ],
  });
  const errors = await validateOpenApi(document);
  if (errors.length > 0) throw new Error(`invalid OpenAPI document for ${module}:\n  ${errors.join("\n  ")}`);
  return toYaml(document);
}

async function main() {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const yaml = await openApiForModule(arg("--module") ?? SHIPPED_MODULE);
  const out = arg("--out");
  if (out) writeFileSync(out, yaml);
  else process.stdout.write(yaml);
}

if (import.meta.main) await main();
