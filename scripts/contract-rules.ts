// Rules every shipped contract follows (README "Adding a service", step 1). Each rule reads the
// descriptors only and returns one problem per offending RPC or field, naming it.
import {
  type DescField,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  ScalarType,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { policyOf, servicesOf } from "./openapi.ts";

/**
 * Mutating RPCs that take no `request_id`, and why a retry key would be meaningless or harmful.
 * A replay answers from a stored response, so it must never hold tokens, secrets or personal data.
 */
export const RETRY_EXEMPT: Readonly<Record<string, string>> = {
  "consorcio.identidade.v1.AuthService.Login": "issues fresh tokens per call; a replay would store them",
  "consorcio.identidade.v1.AuthService.Refresh":
    "a refresh token is single-use: a second use is the reuse that rotation detects",
  "consorcio.identidade.v1.AuthService.Logout": "revoking a family twice is harmless",
  "consorcio.identidade.v1.AuthService.Token": "issues a fresh token per call; a replay would store it",
  "consorcio.identidade.v1.AuthService.EnrollTotp":
    "each call starts a new enrolment; a replay would store the TOTP secret",
  "consorcio.identidade.v1.AuthService.ConfirmTotp": "returns recovery codes once; a replay would store them",
  "consorcio.identidade.v1.UsuarioService.ResetPassword":
    "the last reset wins; a replay would store the new client secret",
  "consorcio.identidade.v1.UsuarioService.RotateSigningKey":
    "a second rotation only adds one more key; tokens stay valid",
  "consorcio.consorciados.v1.ConsorciadoService.ExportDadosPessoais":
    "a retry exports again; a replay would store the personal data",
};

function fieldNamed(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name);
}

function isScalar(field: DescField | undefined, scalar: ScalarType): boolean {
  return field?.fieldKind === "scalar" && field.scalar === scalar;
}

function methodsOf(registry: FileRegistry, targets: string[]): DescMethod[] {
  return servicesOf(registry, targets).flatMap((service) => service.methods);
}

const nameOf = (method: DescMethod) => `${method.parent.typeName}.${method.name}`;

/** Every mutating RPC (not NO_SIDE_EFFECTS) takes a `string request_id`, unless RETRY_EXEMPT. */
export function retryProblems(
  registry: FileRegistry,
  targets: string[],
  exempt: Readonly<Record<string, string>> = RETRY_EXEMPT,
): string[] {
  return methodsOf(registry, targets)
    .filter((m) => m.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS)
    .filter((m) => !(nameOf(m) in exempt))
    .filter((m) => !isScalar(fieldNamed(m.input, "request_id"), ScalarType.STRING))
    .map(
      (m) =>
        `${nameOf(m)}: mutating RPC without a string request_id in ${m.input.typeName} (retries must be safe)`,
    );
}

/** Every List* RPC pages: int32 page_size and string page_token in, string next_page_token out. */
export function paginationProblems(registry: FileRegistry, targets: string[]): string[] {
  const problems: string[] = [];
  for (const m of methodsOf(registry, targets).filter((m) => m.name.startsWith("List"))) {
    const wanted: [DescMessage, string, ScalarType, string][] = [
      [m.input, "page_size", ScalarType.INT32, "int32"],
      [m.input, "page_token", ScalarType.STRING, "string"],
      [m.output, "next_page_token", ScalarType.STRING, "string"],
    ];
    for (const [message, field, scalar, type] of wanted) {
      if (!isScalar(fieldNamed(message, field), scalar))
        problems.push(`${nameOf(m)}: ${message.typeName} has no ${type} ${field}`);
    }
  }
  return problems;
}

/** Why an owner_field path does not name a string in the request, or undefined when it does. */
export function ownerPathProblem(request: DescMessage, path: string): string | undefined {
  let message: DescMessage | undefined = request;
  const segments = path.split(".");
  for (const [i, segment] of segments.entries()) {
    const field: DescField | undefined = message && fieldNamed(message, segment);
    if (!field) return `no field ${segment} in ${message?.typeName}`;
    const last = i === segments.length - 1;
    if (last) return isScalar(field, ScalarType.STRING) ? undefined : `${segment} is not a string`;
    if (field.fieldKind !== "message") return `${segment} is not a message`;
    message = field.message;
  }
  return undefined;
}

/** A policy's owner_field is a path of message fields in the request ending on a string. */
export function ownerFieldProblems(registry: FileRegistry, targets: string[]): string[] {
  const problems: string[] = [];
  for (const m of methodsOf(registry, targets)) {
    const path = policyOf(registry, m)?.ownerField;
    if (!path) continue;
    const problem = ownerPathProblem(m.input, path);
    if (problem) problems.push(`${nameOf(m)}: owner_field "${path}": ${problem}`);
  }
  return problems;
}

/** Every field named *_centavos is int64: money never goes through a float or an int32. */
export function centavosProblems(registry: FileRegistry, targets: string[]): string[] {
  const problems: string[] = [];
  const visit = (message: DescMessage) => {
    for (const field of message.fields) {
      if (field.name.endsWith("_centavos") && !isScalar(field, ScalarType.INT64))
        problems.push(`${message.typeName}.${field.name}: *_centavos must be int64`);
    }
    message.nestedMessages.forEach(visit);
  };
  for (const name of targets) registry.getFile(name)?.messages.forEach(visit);
  return problems;
}

/** Every rule above, over the module's own files. */
export function contractProblems(registry: FileRegistry, targets: string[]): string[] {
  return [
    ...retryProblems(registry, targets),
    ...paginationProblems(registry, targets),
    ...ownerFieldProblems(registry, targets),
    ...centavosProblems(registry, targets),
  ];
}
