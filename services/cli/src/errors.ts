// Every failure is one readable line: the gRPC code, the message and the field violations.
import { type Violation, ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@consorcio/gen/google/rpc/error_details_pb.js";

/** Wrong use of the command (exit 2). */
export class UsageError extends Error {}

/** A failure the CLI found itself (exit 1). */
export class CliError extends Error {}

/** snake_case name of a gRPC code, as the Connect protocol writes it. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function violationPath(violation: Violation): string {
  const elements = violation.field?.elements ?? [];
  if (elements.length === 0) return "";
  return elements
    .map((element) => {
      const key = element.subscript;
      const subscript =
        key.case === "index"
          ? `[${key.value}]`
          : key.case === undefined
            ? ""
            : `[${typeof key.value === "string" ? JSON.stringify(key.value) : String(key.value)}]`;
      return `${element.fieldName}${subscript}`;
    })
    .join(".");
}

/** The field violations a ConnectError carries: buf.validate.Violations and google.rpc.BadRequest. */
export function fieldViolations(error: ConnectError): string[] {
  const found: string[] = [];
  for (const detail of error.findDetails(ViolationsSchema))
    for (const violation of detail.violations) {
      const path = violationPath(violation);
      found.push(path ? `${path}: ${violation.message}` : violation.message);
    }
  for (const detail of error.findDetails(BadRequestSchema))
    for (const violation of detail.fieldViolations)
      found.push(violation.field ? `${violation.field}: ${violation.description}` : violation.description);
  return [...new Set(found)];
}

/** Our own errors thrown inside a call (the token interceptor) come back wrapped by Connect. */
function unwrap(error: unknown): unknown {
  if (error instanceof ConnectError && (error.cause instanceof CliError || error.cause instanceof UsageError))
    return error.cause;
  return error;
}

/** One line for any error, without a stack. */
export function formatError(thrown: unknown): string {
  const error = unwrap(thrown);
  if (error instanceof UsageError || error instanceof CliError) return `error: ${error.message}`;
  if (error instanceof ConnectError) {
    const violations = fieldViolations(error);
    const message = error.rawMessage.replace(/\s+/g, " ").trim();
    const code = codeName(error.code);
    // protovalidate's message is the first violation and a count: the list says it all.
    const first = violations[0];
    if (first !== undefined && (message.startsWith(first) || violations.includes(message)))
      return `error: ${code}: ${violations.join("; ")}`;
    return `error: ${code}: ${message}${violations.length > 0 ? ` [${violations.join("; ")}]` : ""}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `error: ${message.replace(/\s+/g, " ").trim()}`;
}

export function exitCodeOf(error: unknown): number {
  return unwrap(error) instanceof UsageError ? 2 : 1;
}
