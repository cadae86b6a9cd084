// The path templates of google.api.http (google/api/http.proto), parsed and matched:
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
//
// No maintained npm matcher implements this grammar (path-to-regexp and friends know neither
// `{a.b=x/*}` nor the `:verb` suffix), so it is small and tested here.

type Segment = { kind: "literal"; value: string } | { kind: "*" } | { kind: "**" };

export interface TemplateVariable {
  /** Proto field path, e.g. ["consorciado", "id"]. */
  fieldPath: string[];
  /** Index of its first segment and one past its last in `segments`. */
  start: number;
  end: number;
}

export interface PathTemplate {
  source: string;
  segments: Segment[];
  variables: TemplateVariable[];
  verb?: string;
  /** Literal segments (and the verb): the more, the more specific the template. */
  literals: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[^/{}*:=]+$/;

export class TemplateSyntaxError extends Error {}

export function parsePathTemplate(source: string): PathTemplate {
  const fail = (why: string): never => {
    throw new TemplateSyntaxError(`path template ${JSON.stringify(source)}: ${why}`);
  };
  if (!source.startsWith("/")) fail("must start with /");
  let rest = source.slice(1);
  let verb: string | undefined;
  // The verb is a colon after the last segment, outside any variable.
  const lastSlash = rest.lastIndexOf("/");
  const lastBrace = rest.lastIndexOf("}");
  const colon = rest.indexOf(":", Math.max(lastSlash, lastBrace) + 1);
  if (colon >= 0) {
    verb = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!LITERAL.test(verb)) fail(`bad verb ${JSON.stringify(verb)}`);
  }
  const segments: Segment[] = [];
  const variables: TemplateVariable[] = [];
  const pushSegment = (text: string) => {
    if (text === "*") segments.push({ kind: "*" });
    else if (text === "**") segments.push({ kind: "**" });
    else if (LITERAL.test(text)) segments.push({ kind: "literal", value: text });
    else fail(`bad segment ${JSON.stringify(text)}`);
  };
  let index = 0;
  while (index <= rest.length) {
    if (rest[index] === "{") {
      const close = rest.indexOf("}", index);
      if (close < 0) fail("unclosed {");
      const inner = rest.slice(index + 1, close);
      const [path = "", pattern] = inner.split("=", 2) as [string, string | undefined];
      const fieldPath = path.split(".");
      if (!fieldPath.every((part) => IDENT.test(part))) fail(`bad field path ${JSON.stringify(path)}`);
      const start = segments.length;
      if (pattern === undefined) segments.push({ kind: "*" });
      else {
        if (pattern.includes("{")) fail("nested variables");
        for (const part of pattern.split("/")) pushSegment(part);
      }
      variables.push({ fieldPath, start, end: segments.length });
      index = close + 1;
    } else {
      const slash = rest.indexOf("/", index);
      const end = slash < 0 ? rest.length : slash;
      pushSegment(rest.slice(index, end));
      index = end;
    }
    if (index === rest.length) break;
    if (rest[index] !== "/") fail(`expected / at ${index + 1}`);
    index++;
  }
  if (segments.filter((segment) => segment.kind === "**").length > 1) fail("more than one **");
  const names = variables.map((variable) => variable.fieldPath.join("."));
  if (new Set(names).size !== names.length) fail("a field bound twice");
  const literals = segments.filter((segment) => segment.kind === "literal").length + (verb ? 1 : 0);
  return { source, segments, variables, ...(verb === undefined ? {} : { verb }), literals };
}

/**
 * Matches a request path (as sent: percent-encoded, without the query) against a template.
 * Returns each variable's value by field path ("consorciado.id"), decoded; undefined when it
 * does not match (a malformed percent escape does not match either).
 */
export function matchPathTemplate(template: PathTemplate, path: string): Map<string, string> | undefined {
  if (!path.startsWith("/")) return undefined;
  const raw = path.slice(1).split("/");
  if (template.verb !== undefined) {
    const last = raw.at(-1) ?? "";
    const suffix = `:${template.verb}`;
    if (!last.endsWith(suffix)) return undefined;
    raw[raw.length - 1] = last.slice(0, -suffix.length);
  }
  // Where the request's segments fall in the template's: `**` takes what the others leave.
  const { segments } = template;
  const wide = segments.findIndex((segment) => segment.kind === "**");
  if (wide < 0 ? raw.length !== segments.length : raw.length < segments.length - 1) return undefined;
  const spanOf = (index: number): [number, number] => {
    if (wide < 0 || index < wide) return [index, index + 1];
    if (index === wide) return [wide, wide + raw.length - segments.length + 1];
    const shift = raw.length - segments.length;
    return [index + shift, index + shift + 1];
  };
  for (const [index, segment] of segments.entries()) {
    const [from, to] = spanOf(index);
    if (segment.kind === "literal" && raw[from] !== segment.value) return undefined;
    // A `*` is one non-empty segment; `**` may be empty only at the end.
    if (segment.kind === "*" && !raw[from]) return undefined;
    if (segment.kind === "**" && raw.slice(from, to).some((part) => part === "")) return undefined;
  }
  const values = new Map<string, string>();
  for (const variable of template.variables) {
    const from = spanOf(variable.start)[0];
    const to = variable.end === variable.start ? from : (spanOf(variable.end - 1)[1] ?? from);
    const parts = raw.slice(from, to);
    try {
      // One segment: fully decoded. Several: each decoded, an escaped "/" kept escaped (grpc-gateway).
      values.set(
        variable.fieldPath.join("."),
        parts.length === 1
          ? decodeURIComponent(parts[0] ?? "")
          : parts.map((part) => decodeURIComponent(part.replaceAll(/%2F/gi, "%252F"))).join("/"),
      );
    } catch {
      return undefined;
    }
  }
  return values;
}
