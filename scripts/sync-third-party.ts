// Fills third_party/proto/ (committed) from npm packages, so that Buf works offline.
//
//   npx node scripts/sync-third-party.ts           write third_party/
//   npx node scripts/sync-third-party.ts --check   fail if third_party/ differs from what it would write
//
// Sources:
// - google/api, google/type, google/rpc: google-proto-files;
// - grpc/health/v1/health.proto: grpc-health-check;
// - grpc/reflection/{v1,v1alpha}/reflection.proto: @grpc/reflection;
// - buf/validate/validate.proto: not shipped as source by any package here, so it is printed
//   from the FileDescriptorProto embedded in @bufbuild/protovalidate's generated code, then
//   built back with buf and compared byte for byte with the embedded descriptor.
// Every file is passed through `buf format`, so `buf format --exit-code` is clean on the
// whole workspace; formatting never changes a descriptor.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import {
  clearField,
  createFileRegistry,
  createRegistry,
  type DescExtension,
  type DescField,
  type DescFile,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  getExtension,
  isFieldSet,
  type Message,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { embedFileDesc } from "@bufbuild/protobuf/codegenv2";
import { protoCamelCase, type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { toText } from "@bufbuild/protobuf/txtpb";
import {
  type DescriptorProto,
  Edition,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_descriptor,
  type ServiceDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { buf, ROOT } from "./buf.ts";

export const THIRD_PARTY_DIR = join(ROOT, "third_party");
const PROTO_DIR = "proto"; // under third_party/

/** Files copied verbatim (then `buf format`ted): npm package → [file in package, file under third_party/proto]. */
const COPIED: Record<string, [from: string, to: string][]> = {
  "google-proto-files": [
    ...[
      "annotations",
      "client",
      "field_behavior",
      "field_info",
      "http",
      "httpbody",
      "launch_stage",
      "resource",
    ].map((f): [string, string] => [`google/api/${f}.proto`, `google/api/${f}.proto`]),
    ...["code", "error_details", "status"].map((f): [string, string] => [
      `google/rpc/${f}.proto`,
      `google/rpc/${f}.proto`,
    ]),
    ...["date", "dayofweek", "decimal", "interval", "money", "timeofday"].map((f): [string, string] => [
      `google/type/${f}.proto`,
      `google/type/${f}.proto`,
    ]),
  ],
  "grpc-health-check": [["proto/health/v1/health.proto", "grpc/health/v1/health.proto"]],
  "@grpc/reflection": [
    ["build/proto/grpc/reflection/v1/reflection.proto", "grpc/reflection/v1/reflection.proto"],
    ["build/proto/grpc/reflection/v1alpha/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"],
  ],
};
const PROTOVALIDATE = "@bufbuild/protovalidate";
const VALIDATE_PROTO = "buf/validate/validate.proto";

function packageDir(name: string): string {
  const dir = join(ROOT, "node_modules", name);
  if (!existsSync(join(dir, "package.json")))
    throw new Error(`npm package ${name} is not installed (run npm ci)`);
  return dir;
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), "package.json"), "utf8")) as { version: string })
    .version;
}

// ---------------------------------------------------------------------------------------------
// The .proto printer: FileDescriptorProto → source. Handles proto2, proto3 and editions syntax,
// messages, nested types, maps, enums, oneofs, extensions and extend blocks, extension ranges,
// reserved ranges and names, defaults, json_name, services, and every kind of option (known
// fields and extensions, scalar or message-literal values). Groups are not supported (validate
// does not use them); anything it cannot print faithfully throws, and the caller verifies the
// result by building it back anyway.
// ---------------------------------------------------------------------------------------------

type SymbolKind = "package" | "message" | "enum" | "service" | "other";

/** Every fully-qualified name visible to a file (its own and its dependencies'), for name resolution. */
function symbolTable(registry: FileRegistry): Map<string, SymbolKind> {
  const symbols = new Map<string, SymbolKind>();
  const add = (name: string, kind: SymbolKind) => {
    if (!symbols.has(name)) symbols.set(name, kind);
  };
  for (const file of registry.files) {
    const parts = file.proto.package.split(".").filter((p) => p !== "");
    for (let i = 1; i <= parts.length; i++) add(parts.slice(0, i).join("."), "package");
  }
  for (const type of registry) {
    switch (type.kind) {
      case "message":
        add(type.typeName, "message");
        for (const f of type.fields) add(`${type.typeName}.${f.name}`, "other");
        for (const o of type.oneofs) add(`${type.typeName}.${o.name}`, "other");
        break;
      case "enum": {
        add(type.typeName, "enum");
        // Enum values are siblings of their enum (C++ scoping rules).
        const scope = type.typeName.slice(0, Math.max(0, type.typeName.lastIndexOf(".")));
        for (const v of type.values) add(scope === "" ? v.name : `${scope}.${v.name}`, "other");
        break;
      }
      case "extension":
        add(type.typeName, "other");
        break;
      case "service":
        add(type.typeName, "service");
        for (const m of type.methods) add(`${type.typeName}.${m.name}`, "other");
        break;
    }
  }
  return symbols;
}

/**
 * Shortest name that protoc/protocompile resolve to `target` from the element `relativeTo`
 * (the fully-qualified name of the element that holds the reference), following
 * DescriptorBuilder::LookupSymbolNoPlaceholder: walk the scopes outwards; the first scope in
 * which the first component of the name exists wins.
 */
function nameResolver(symbols: Map<string, SymbolKind>) {
  const isAggregate = (k: SymbolKind | undefined) =>
    k === "package" || k === "message" || k === "enum" || k === "service";
  const isType = (k: SymbolKind | undefined) => k === "message" || k === "enum";
  function lookup(name: string, relativeTo: string, typesOnly: boolean): string | undefined {
    const first = name.split(".")[0] ?? name;
    let scope = relativeTo;
    for (;;) {
      const dot = scope.lastIndexOf(".");
      if (dot < 0) {
        return symbols.has(name) ? name : undefined;
      }
      scope = scope.slice(0, dot);
      const candidate = `${scope}.${first}`;
      const kind = symbols.get(candidate);
      if (kind === undefined) continue;
      if (first.length < name.length) {
        if (isAggregate(kind)) {
          const full = `${scope}.${name}`;
          return symbols.has(full) ? full : undefined;
        }
      } else if (!typesOnly || isType(kind)) {
        return candidate;
      }
    }
  }
  return (target: string, relativeTo: string, typesOnly: boolean): string => {
    const full = target.replace(/^\./, "");
    const parts = full.split(".");
    for (let i = parts.length - 1; i >= 0; i--) {
      const candidate = parts.slice(i).join(".");
      if (lookup(candidate, relativeTo, typesOnly) === full) return candidate;
    }
    return `.${full}`;
  };
}

/** A string literal in .proto syntax (same escapes as the text format). */
function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code >= 0x80 && code <= 0x9f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function floatLiteral(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Number.POSITIVE_INFINITY) return "inf";
  if (value === Number.NEGATIVE_INFINITY) return "-inf";
  return String(value);
}

const SCALAR_NAMES: Partial<Record<FieldDescriptorProto_Type, string>> = {
  [FieldDescriptorProto_Type.DOUBLE]: "double",
  [FieldDescriptorProto_Type.FLOAT]: "float",
  [FieldDescriptorProto_Type.INT64]: "int64",
  [FieldDescriptorProto_Type.UINT64]: "uint64",
  [FieldDescriptorProto_Type.INT32]: "int32",
  [FieldDescriptorProto_Type.FIXED64]: "fixed64",
  [FieldDescriptorProto_Type.FIXED32]: "fixed32",
  [FieldDescriptorProto_Type.BOOL]: "bool",
  [FieldDescriptorProto_Type.STRING]: "string",
  [FieldDescriptorProto_Type.BYTES]: "bytes",
  [FieldDescriptorProto_Type.UINT32]: "uint32",
  [FieldDescriptorProto_Type.SFIXED32]: "sfixed32",
  [FieldDescriptorProto_Type.SFIXED64]: "sfixed64",
  [FieldDescriptorProto_Type.SINT32]: "sint32",
  [FieldDescriptorProto_Type.SINT64]: "sint64",
};

const MAX_FIELD_NUMBER = 536_870_911;
const MAX_ENUM_NUMBER = 2_147_483_647;

export function printProto(file: DescFile): string {
  const proto = file.proto;
  const files = createFileRegistry(file.proto, (name) => findDependency(file, name));
  const resolve = nameResolver(symbolTable(files));
  // Options messages come from descriptor.proto even when the file does not import it.
  const registry = createRegistry(file_google_protobuf_descriptor, files);
  const syntax = proto.syntax === "" ? "proto2" : proto.syntax;
  const out: string[] = [];
  const line = (depth: number, text: string) => out.push(`${"  ".repeat(depth)}${text}`);

  // --- options -------------------------------------------------------------------------------
  /** A scalar or enum value in option syntax. */
  function scalarValue(field: DescField | DescExtension, value: unknown): string {
    if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
      const e = field.enum;
      const v = e?.values.find((x) => x.number === value);
      if (!v) throw new Error(`unknown enum number ${String(value)} for ${field.toString()}`);
      return v.name;
    }
    if (typeof value === "string") return quote(value);
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "number") return floatLiteral(value);
    if (value instanceof Uint8Array) {
      return `"${Array.from(value, (b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}"`;
    }
    throw new Error(`cannot print option value ${String(value)} of ${field.toString()}`);
  }

  /** A message literal `{ ... }` (text format body, extensions resolved through the registry). */
  function messageLiteral(desc: DescMessage, message: Message, depth: number): string {
    const body = toText(desc, message, { registry }).trimEnd();
    if (body === "") return "{}";
    const pad = "  ".repeat(depth + 1);
    return `{\n${body
      .split("\n")
      .map((l) => pad + l)
      .join("\n")}\n${"  ".repeat(depth)}}`;
  }

  /** Option assignments `name = value` of one set field of an options message. */
  function assignments(
    name: string,
    field: DescField | DescExtension,
    value: unknown,
    depth: number,
    flatten: boolean,
    relativeTo: string,
  ): string[] {
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        return [`${name} = ${scalarValue(field, value)}`];
      case "message": {
        const message = value as Message;
        // `(ext).a = 1` per field reads better than one big literal, unless a map is set (map
        // entries have no assignment syntax of their own).
        const r = reflect(field.message, message);
        if (flatten && !r.fields.some((f) => f.fieldKind === "map" && r.isSet(f))) {
          const nested = setFields(field.message, message, name, depth, false, relativeTo);
          if (nested.length > 0) return nested;
        }
        return [`${name} = ${messageLiteral(field.message, message, depth)}`];
      }
      case "list": {
        const items = [...(value as Iterable<unknown>)];
        if (field.listKind === "message") {
          return items.map((v) => `${name} = ${messageLiteral(field.message, v as Message, depth)}`);
        }
        return items.map((v) => `${name} = ${scalarValue(field, v)}`);
      }
      case "map":
        throw new Error(`map-valued option ${field.toString()} cannot be assigned directly`);
    }
  }

  /**
   * Assignments for every set field of an options message (or of a message-valued option when
   * flattening one level, as in `(predefined).cel = {...}`): known fields first, in
   * declaration order, then extensions in the order their bytes appear.
   */
  function setFields(
    desc: DescMessage,
    message: Message,
    prefix: string,
    depth: number,
    flatten: boolean,
    relativeTo: string,
  ): string[] {
    const r: ReflectMessage = reflect(desc, message);
    const result: string[] = [];
    const path = (n: string) => (prefix === "" ? n : `${prefix}.${n}`);
    for (const field of r.fields) {
      if (field.name === "uninterpreted_option" || !r.isSet(field)) continue;
      const value =
        field.fieldKind === "message" ? (r.get(field) as ReflectMessage).message : unwrap(r.get(field));
      result.push(...assignments(path(field.name), field, value, depth, flatten, relativeTo));
    }
    const seen = new Set<number>();
    for (const unknown of r.getUnknown() ?? []) {
      if (seen.has(unknown.no)) continue;
      seen.add(unknown.no);
      const ext = registry.getExtensionFor(desc, unknown.no);
      if (!ext)
        throw new Error(`${desc.typeName} has unknown field ${unknown.no} that no extension explains`);
      const name = `(${resolve(ext.typeName, relativeTo, false)})`;
      result.push(...assignments(path(name), ext, getExtension(message, ext), depth, flatten, relativeTo));
    }
    return result;
  }

  /** Options of an element as a list of assignments (without `option` or brackets). */
  function optionList(options: Message | undefined, depth: number, relativeTo: string): string[] {
    if (options === undefined) return [];
    const desc = registry.getMessage(options.$typeName);
    if (!desc) throw new Error(`no descriptor for ${options.$typeName}`);
    return setFields(desc, options, "", depth, true, relativeTo);
  }

  function optionStatements(options: Message | undefined, depth: number, relativeTo: string) {
    for (const o of optionList(options, depth, relativeTo)) line(depth, `option ${o};`);
  }

  function bracketed(list: string[], depth: number): string {
    if (list.length === 0) return "";
    if (list.length === 1 && !(list[0] ?? "").includes("\n")) return ` [${list[0]}]`;
    const pad = "  ".repeat(depth + 1);
    return ` [\n${list.map((o) => pad + o.replaceAll("\n", "\n  ")).join(",\n")}\n${"  ".repeat(depth)}]`;
  }

  // --- fields --------------------------------------------------------------------------------
  function fieldType(f: FieldDescriptorProto, relativeTo: string): string {
    if (f.type === FieldDescriptorProto_Type.GROUP) throw new Error(`groups are not supported (${f.name})`);
    if (f.type === FieldDescriptorProto_Type.MESSAGE || f.type === FieldDescriptorProto_Type.ENUM) {
      return resolve(f.typeName, relativeTo, true);
    }
    const name = SCALAR_NAMES[f.type];
    if (!name) throw new Error(`unknown field type ${f.type} of ${f.name}`);
    return name;
  }

  function defaultLiteral(f: FieldDescriptorProto): string {
    switch (f.type) {
      case FieldDescriptorProto_Type.STRING:
        return quote(f.defaultValue);
      case FieldDescriptorProto_Type.BYTES:
        return `"${f.defaultValue}"`; // already C-escaped in the descriptor
      default:
        return f.defaultValue; // numbers, bools, enum value names, inf/nan: as protoc wrote them
    }
  }

  function printField(
    f: FieldDescriptorProto,
    scope: string,
    depth: number,
    mapEntries: Map<string, DescriptorProto>,
  ) {
    const fullName = `${scope}.${f.name}`;
    const entry =
      f.type === FieldDescriptorProto_Type.MESSAGE
        ? mapEntries.get(f.typeName.replace(/^\./, ""))
        : undefined;
    let type: string;
    let label = "";
    if (entry) {
      const [k, v] = entry.field;
      if (!k || !v) throw new Error(`malformed map entry ${entry.name}`);
      type = `map<${fieldType(k, fullName)}, ${fieldType(v, fullName)}>`;
    } else {
      type = fieldType(f, fullName);
      if (f.label === FieldDescriptorProto_Label.REPEATED) label = "repeated ";
      else if (syntax === "proto2" && !has(f, "oneofIndex")) {
        label = f.label === FieldDescriptorProto_Label.REQUIRED ? "required " : "optional ";
      } else if (syntax === "proto3" && f.proto3Optional) label = "optional ";
    }
    const opts: string[] = [];
    if (has(f, "defaultValue")) opts.push(`default = ${defaultLiteral(f)}`);
    if (has(f, "jsonName") && f.jsonName !== protoCamelCase(f.name) && !has(f, "extendee")) {
      opts.push(`json_name = ${quote(f.jsonName)}`);
    }
    opts.push(...optionList(f.options, depth, fullName));
    line(depth, `${label}${type} ${f.name} = ${f.number}${bracketed(opts, depth)};`);
  }

  function printExtensions(exts: FieldDescriptorProto[], scope: string, depth: number) {
    let i = 0;
    while (i < exts.length) {
      const extendee = exts[i]?.extendee ?? "";
      const group: FieldDescriptorProto[] = [];
      while (i < exts.length && exts[i]?.extendee === extendee) group.push(exts[i++] as FieldDescriptorProto);
      line(depth, `extend ${resolve(extendee, `${scope}.${group[0]?.name}`, true)} {`);
      for (const f of group) printField(f, scope, depth + 1, new Map());
      line(depth, "}");
    }
  }

  // --- ranges --------------------------------------------------------------------------------
  function range(start: number, endInclusive: number, max: number): string {
    if (start === endInclusive) return String(start);
    return `${start} to ${endInclusive === max ? "max" : endInclusive}`;
  }

  function reservedNames(names: string[], depth: number) {
    if (names.length === 0) return;
    const list = syntax === "editions" ? names.join(", ") : names.map(quote).join(", ");
    line(depth, `reserved ${list};`);
  }

  // --- messages, enums, services -------------------------------------------------------------
  function printMessage(m: DescriptorProto, scope: string, depth: number) {
    const fullName = `${scope}.${m.name}`.replace(/^\./, "");
    line(depth, `message ${m.name} {`);
    optionStatements(m.options, depth + 1, fullName);
    const mapEntries = new Map<string, DescriptorProto>();
    for (const n of m.nestedType) if (n.options?.mapEntry) mapEntries.set(`${fullName}.${n.name}`, n);

    // Fields, with the members of each (non-synthetic) oneof gathered in its block.
    const printedOneofs = new Set<number>();
    const realOneof = (f: FieldDescriptorProto) =>
      has(f, "oneofIndex") && !f.proto3Optional ? f.oneofIndex : undefined;
    for (let i = 0; i < m.field.length; i++) {
      const f = m.field[i] as FieldDescriptorProto;
      const o = realOneof(f);
      if (o === undefined) {
        printField(f, fullName, depth + 1, mapEntries);
        continue;
      }
      if (printedOneofs.has(o))
        throw new Error(`fields of oneof ${m.oneofDecl[o]?.name} in ${fullName} are not contiguous`);
      printedOneofs.add(o);
      const decl = m.oneofDecl[o];
      if (!decl) throw new Error(`bad oneof index ${o} in ${fullName}`);
      line(depth + 1, `oneof ${decl.name} {`);
      optionStatements(decl.options, depth + 2, `${fullName}.${decl.name}`);
      while (i < m.field.length && realOneof(m.field[i] as FieldDescriptorProto) === o) {
        printField(m.field[i] as FieldDescriptorProto, fullName, depth + 2, mapEntries);
        i++;
      }
      i--;
      line(depth + 1, "}");
    }
    m.oneofDecl.forEach((decl, index) => {
      const synthetic = m.field.some(
        (f) => has(f, "oneofIndex") && f.oneofIndex === index && f.proto3Optional,
      );
      if (!synthetic && !printedOneofs.has(index)) throw new Error(`empty oneof ${decl.name} in ${fullName}`);
    });

    for (const n of m.nestedType) if (!n.options?.mapEntry) printMessage(n, fullName, depth + 1);
    for (const e of m.enumType) printEnum(e, fullName, depth + 1);
    printExtensions(m.extension, fullName, depth + 1);
    for (const r of m.extensionRange) {
      const opts = optionList(r.options, depth + 1, fullName);
      line(
        depth + 1,
        `extensions ${range(r.start, r.end - 1, MAX_FIELD_NUMBER)}${bracketed(opts, depth + 1)};`,
      );
    }
    if (m.reservedRange.length > 0) {
      line(
        depth + 1,
        `reserved ${m.reservedRange.map((r) => range(r.start, r.end - 1, MAX_FIELD_NUMBER)).join(", ")};`,
      );
    }
    reservedNames(m.reservedName, depth + 1);
    line(depth, "}");
  }

  function printEnum(e: EnumDescriptorProto, scope: string, depth: number) {
    const fullName = `${scope}.${e.name}`.replace(/^\./, "");
    line(depth, `enum ${e.name} {`);
    optionStatements(e.options, depth + 1, fullName);
    for (const v of e.value) {
      const opts = optionList(v.options, depth + 1, `${scope}.${v.name}`.replace(/^\./, ""));
      line(depth + 1, `${v.name} = ${v.number}${bracketed(opts, depth + 1)};`);
    }
    if (e.reservedRange.length > 0) {
      line(
        depth + 1,
        `reserved ${e.reservedRange.map((r) => range(r.start, r.end, MAX_ENUM_NUMBER)).join(", ")};`,
      );
    }
    reservedNames(e.reservedName, depth + 1);
    line(depth, "}");
  }

  function printService(s: ServiceDescriptorProto, depth: number) {
    const fullName = `${proto.package}.${s.name}`.replace(/^\./, "");
    line(depth, `service ${s.name} {`);
    optionStatements(s.options, depth + 1, fullName);
    for (const m of s.method) {
      const methodName = `${fullName}.${m.name}`;
      const input = `${m.clientStreaming ? "stream " : ""}${resolve(m.inputType, methodName, true)}`;
      const output = `${m.serverStreaming ? "stream " : ""}${resolve(m.outputType, methodName, true)}`;
      const opts = optionList(m.options, depth + 2, methodName);
      if (opts.length === 0) {
        line(depth + 1, `rpc ${m.name}(${input}) returns (${output});`);
      } else {
        line(depth + 1, `rpc ${m.name}(${input}) returns (${output}) {`);
        for (const o of opts) line(depth + 2, `option ${o};`);
        line(depth + 1, "}");
      }
    }
    line(depth, "}");
  }

  // --- the file ------------------------------------------------------------------------------
  if (syntax === "editions") {
    const edition = Edition[proto.edition]?.replace(/^EDITION_/, "");
    if (!edition || !/^\d+$/.test(edition)) throw new Error(`unsupported edition ${proto.edition}`);
    line(0, `edition = "${edition}";`);
  } else {
    line(0, `syntax = "${syntax}";`);
  }
  out.push("");
  if (proto.package !== "") line(0, `package ${proto.package};`);
  out.push("");
  proto.dependency.forEach((dep, index) => {
    const kind = proto.publicDependency.includes(index)
      ? "public "
      : proto.weakDependency.includes(index)
        ? "weak "
        : "";
    line(0, `import ${kind}${quote(dep)};`);
  });
  if (proto.optionDependency.length > 0) throw new Error("`import option` is not supported");
  out.push("");
  optionStatements(proto.options, 0, proto.package === "" ? "" : `${proto.package}.x`);
  out.push("");
  // Top-level declarations, separated by blank lines.
  const scope = proto.package;
  for (const m of proto.messageType) {
    printMessage(m, scope, 0);
    out.push("");
  }
  for (const e of proto.enumType) {
    printEnum(e, scope, 0);
    out.push("");
  }
  printExtensions(proto.extension, scope, 0);
  out.push("");
  for (const s of proto.service) {
    printService(s, 0);
    out.push("");
  }
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n")}\n`;
}

/** Whether an optional (proto2) field of a FieldDescriptorProto is present. */
function has(
  f: FieldDescriptorProto,
  field: "oneofIndex" | "defaultValue" | "jsonName" | "extendee",
): boolean {
  return isFieldSet(f, FieldDescriptorProtoSchema.field[field]);
}

function unwrap(value: unknown): unknown {
  // ReflectList → its items; everything else as is.
  if (
    value !== null &&
    typeof value === "object" &&
    Symbol.iterator in value &&
    !(value instanceof Uint8Array)
  ) {
    return [...(value as Iterable<unknown>)].map((v) =>
      v !== null && typeof v === "object" && "message" in v ? (v as ReflectMessage).message : v,
    );
  }
  return value;
}

function findDependency(file: DescFile, name: string): DescFile | undefined {
  for (const dep of file.dependencies) {
    if (dep.name === name.replace(/\.proto$/, "") || dep.proto.name === name) return dep;
    const nested = findDependency(dep, name);
    if (nested) return nested;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Verification: build the printed file back and compare with the embedded descriptor.
// ---------------------------------------------------------------------------------------------

/** Throws (with a diff) unless `dir/<name>` builds to exactly `expected` (source info aside). */
function verifyRoundTrip(dir: string, expected: FileDescriptorProto, embeddedBase64: string | undefined) {
  const image = buf([
    "build",
    dir,
    "--path",
    join(dir, expected.name),
    "--exclude-imports",
    "--exclude-source-info",
    "--as-file-descriptor-set",
    "-o",
    "-#format=binpb",
  ]);
  const rebuilt = fromBinary(FileDescriptorSetSchema, image).file.find((f) => f.name === expected.name);
  if (!rebuilt) throw new Error(`buf build did not produce ${expected.name}`);
  clearField(rebuilt, FileDescriptorProtoSchema.field.sourceCodeInfo);
  const want = expected.sourceCodeInfo === undefined ? expected : withoutSourceInfo(expected);
  const a = toBinary(FileDescriptorProtoSchema, want);
  const b = toBinary(FileDescriptorProtoSchema, rebuilt);
  if (!Buffer.from(a).equals(Buffer.from(b))) {
    const dump = (p: FileDescriptorProto) =>
      `${JSON.stringify(toJson(FileDescriptorProtoSchema, p), null, 1)}\n${unknownDump(p)}`;
    const diffDir = mkdtempSync(join(tmpdir(), "validate-diff-"));
    writeFileSync(join(diffDir, "embedded.json"), dump(want));
    writeFileSync(join(diffDir, "rebuilt.json"), dump(rebuilt));
    let diff = "";
    try {
      execFileSync("diff", ["-u", "embedded.json", "rebuilt.json"], { cwd: diffDir, encoding: "utf8" });
    } catch (e) {
      diff = String((e as { stdout?: string }).stdout ?? e);
    }
    throw new Error(
      `${expected.name}: the printed source does not build back to the embedded descriptor ` +
        `(${a.length} vs ${b.length} bytes). Diff (dumps in ${diffDir}):\n${diff.slice(0, 20000)}`,
    );
  }
  // The embedded base64 literal in the generated code is exactly what protoc-gen-es would embed
  // for the rebuilt descriptor.
  if (embeddedBase64 !== undefined) {
    const ours = embedFileDesc(rebuilt).base64();
    if (ours !== embeddedBase64) {
      throw new Error(
        `${expected.name}: rebuilt descriptor does not embed to the same base64 as ${PROTOVALIDATE}`,
      );
    }
  }
}

function withoutSourceInfo(p: FileDescriptorProto): FileDescriptorProto {
  const copy = fromBinary(FileDescriptorProtoSchema, toBinary(FileDescriptorProtoSchema, p));
  clearField(copy, FileDescriptorProtoSchema.field.sourceCodeInfo);
  return copy;
}

/** Options are extensions, which toJson leaves out: dump their raw bytes too, by path. */
function unknownDump(p: FileDescriptorProto): string {
  const lines: string[] = [];
  const visit = (path: string, value: unknown) => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        visit(`${path}[${i}]`, v);
      });
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (k === "$unknown") {
        for (const u of v as { no: number; data: Uint8Array }[]) {
          lines.push(`${path} #${u.no}: ${Buffer.from(u.data).toString("hex")}`);
        }
      } else if (!(v instanceof Uint8Array)) visit(`${path}.${k}`, v);
    }
  };
  visit("", p);
  return lines.join("\n");
}

/** The base64 literal protoc-gen-es embedded in validate_pb.js (the bytes as generated upstream). */
function embeddedBase64Literal(): string | undefined {
  const js = readFileSync(
    join(packageDir(PROTOVALIDATE), "dist/esm/gen/buf/validate/validate_pb.js"),
    "utf8",
  );
  return /file_buf_validate_validate\s*=\s*\/\*@__PURE__\*\/\s*fileDesc\("([A-Za-z0-9+/=]+)"/.exec(js)?.[1];
}

// ---------------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------------

function readme(): string {
  const versions = [...Object.keys(COPIED), PROTOVALIDATE]
    .sort()
    .map((p) => `- \`${p}\` ${packageVersion(p)}`);
  return `# third_party

Protobuf sources we import but do not own, synced from npm packages by
\`npm run sync:third-party\` (scripts/sync-third-party.ts) so that Buf works offline.
Never edit by hand: \`npm run check:contracts\` fails when this folder differs from
what the script writes.

- \`google/api\`, \`google/rpc\`, \`google/type\`: \`google-proto-files\` (googleapis, Apache-2.0).
- \`grpc/health/v1\`: \`grpc-health-check\`; \`grpc/reflection/{v1,v1alpha}\`: \`@grpc/reflection\` (gRPC, Apache-2.0).
- \`buf/validate/validate.proto\`: printed from the FileDescriptorProto embedded in
  \`@bufbuild/protovalidate\` (protovalidate, Apache-2.0; no package here ships the source),
  and verified by building it back with buf: the rebuilt descriptor is byte-identical to the
  embedded one. It has no comments: see the protovalidate documentation for the rules.

Every file is passed through \`buf format\` (layout only; descriptors unchanged).

Packages:
${versions.join("\n")}
`;
}

/** Writes the whole third_party tree into `dir` (which must be empty) and verifies validate.proto. */
export function syncInto(dir: string): void {
  const protoDir = join(dir, PROTO_DIR);
  for (const [pkg, files] of Object.entries(COPIED)) {
    const base = packageDir(pkg);
    for (const [from, to] of files) {
      const target = join(protoDir, to);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(join(base, from)));
    }
  }
  const validate = file_buf_validate_validate;
  const header = [
    `// ${VALIDATE_PROTO} from ${PROTOVALIDATE} ${packageVersion(PROTOVALIDATE)}.`,
    "// Copyright Buf Technologies, Inc. Licensed under the Apache License, Version 2.0.",
    "//",
    "// GENERATED by scripts/sync-third-party.ts from the FileDescriptorProto embedded in",
    `// ${PROTOVALIDATE}: no package here ships the source. Do not edit. The descriptor carries no`,
    "// comments; see the protovalidate documentation for the meaning of each rule.",
    "",
    "",
  ].join("\n");
  const target = join(protoDir, VALIDATE_PROTO);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, header + printProto(validate));
  buf(["format", "-w", protoDir]);
  verifyRoundTrip(protoDir, validate.proto, embeddedBase64Literal());
  writeFileSync(join(dir, "README.md"), readme());
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const result: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else result.push(relative(dir, p));
    }
  };
  walk(dir);
  return result.sort();
}

/** Differences between two trees, as human-readable lines (empty when identical). */
export function compareTrees(expectedDir: string, actualDir: string): string[] {
  const expected = listFiles(expectedDir);
  const actual = listFiles(actualDir);
  const problems: string[] = [];
  for (const f of expected) {
    if (!actual.includes(f)) problems.push(`missing: ${f}`);
    else if (!readFileSync(join(expectedDir, f)).equals(readFileSync(join(actualDir, f))))
      problems.push(`differs: ${f}`);
  }
  for (const f of actual) if (!expected.includes(f)) problems.push(`extra: ${f}`);
  return problems;
}

function main() {
  const check = process.argv.includes("--check");
  const staging = mkdtempSync(join(tmpdir(), "third-party-"));
  try {
    syncInto(staging);
    const problems = compareTrees(staging, THIRD_PARTY_DIR);
    if (check) {
      if (problems.length > 0) {
        console.error(
          `third_party/ is out of sync (run npm run sync:third-party):\n  ${problems.join("\n  ")}`,
        );
        process.exit(1);
      }
      console.log("third_party/ is in sync; buf/validate/validate.proto round-trips byte-identically.");
      return;
    }
    rmSync(THIRD_PARTY_DIR, { recursive: true, force: true });
    for (const f of listFiles(staging)) {
      const target = join(THIRD_PARTY_DIR, f);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(join(staging, f)));
    }
    console.log(
      `third_party/: ${listFiles(THIRD_PARTY_DIR).length} files` +
        (problems.length > 0 ? ` (${problems.length} changed)` : " (unchanged)") +
        "; buf/validate/validate.proto round-trips byte-identically.",
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (import.meta.main) main();
