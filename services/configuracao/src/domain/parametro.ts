// System parameters: a declared type, a value of that type, a validity period. Pure rules.
import { Dec } from "@consorcio/domain";

export type Tipo = "BOOL" | "INTEGER" | "DECIMAL" | "TEXT";

export type Valor =
  | { tipo: "BOOL"; value: boolean }
  | { tipo: "INTEGER"; value: bigint }
  | { tipo: "DECIMAL"; value: string }
  | { tipo: "TEXT"; value: string };

export interface Violation {
  field: string;
  message: string;
  ruleId: string;
}

export const DECIMAL_PATTERN = /^-?(0|[1-9]\d{0,17})(\.\d{1,10})?$/;
export const TEXT_MAX = 4000;
/** Has a control character other than tab, line feed and carriage return. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) return true;
  }
  return false;
}

/** What is wrong with a value for the declared type (empty: nothing). */
export function valorViolations(tipo: Tipo | undefined, valor: Valor | undefined): Violation[] {
  if (!tipo) return [{ field: "parametro.tipo", message: "required", ruleId: "parametro.tipo.required" }];
  if (!valor) return [{ field: "parametro.valor", message: "required", ruleId: "parametro.valor.required" }];
  if (valor.tipo !== tipo)
    return [
      {
        field: "parametro.valor",
        message: `a ${tipo} parameter takes a ${tipo.toLowerCase()} value, not ${valor.tipo.toLowerCase()}`,
        ruleId: "parametro.valor.tipo",
      },
    ];
  if (valor.tipo === "DECIMAL" && !DECIMAL_PATTERN.test(valor.value))
    return [
      {
        field: "parametro.valor.decimal_value",
        message: "not a decimal",
        ruleId: "parametro.valor.decimal",
      },
    ];
  if (valor.tipo === "TEXT" && (valor.value.length > TEXT_MAX || hasControl(valor.value)))
    return [
      {
        field: "parametro.valor.text_value",
        message: `at most ${TEXT_MAX} characters, no control characters`,
        ruleId: "parametro.valor.text",
      },
    ];
  return [];
}

/** valid_from must come before valid_until when both are set. */
export function validityViolations(validFrom: Date | null, validUntil: Date | null): Violation[] {
  if (validFrom && validUntil && validFrom.getTime() >= validUntil.getTime())
    return [
      {
        field: "parametro.valid_until",
        message: "must be after valid_from",
        ruleId: "parametro.validity",
      },
    ];
  return [];
}

/** In force at `now`: from valid_from (inclusive) until valid_until (exclusive). */
export function vigente(validFrom: Date | null, validUntil: Date | null, now: Date): boolean {
  const t = now.getTime();
  return (!validFrom || validFrom.getTime() <= t) && (!validUntil || t < validUntil.getTime());
}

/** How a value is stored: one text column beside its type. Decimals in their canonical form. */
export function encodeValor(valor: Valor): string {
  switch (valor.tipo) {
    case "BOOL":
      return valor.value ? "true" : "false";
    case "INTEGER":
      return valor.value.toString();
    case "DECIMAL":
      return new Dec(valor.value).toFixed();
    case "TEXT":
      return valor.value;
  }
}

export function decodeValor(tipo: Tipo, text: string): Valor {
  switch (tipo) {
    case "BOOL":
      return { tipo, value: text === "true" };
    case "INTEGER":
      return { tipo, value: BigInt(text) };
    case "DECIMAL":
      return { tipo, value: text };
    case "TEXT":
      return { tipo, value: text };
  }
}

/** Fields an update mask may name; the tipo is fixed when the parameter is created. */
export const PARAMETRO_UPDATABLE = new Set(["valor", "description", "valid_from", "valid_until"]);
export const FLAG_UPDATABLE = new Set(["description", "enabled", "rollout_percent", "roles"]);

/** The mask's paths that may not be updated; an empty mask is refused too. */
export function maskViolations(paths: readonly string[], allowed: ReadonlySet<string>): Violation[] {
  const refused = paths.filter((path) => !allowed.has(path));
  if (paths.length > 0 && refused.length === 0) return [];
  return [
    {
      field: "update_mask",
      message: `cannot update: ${refused.join(", ") || "(empty mask)"}`,
      ruleId: "update_mask.paths",
    },
  ];
}

/** Free text stored as given: no control characters (PostgreSQL refuses NUL; logs and UIs the rest). */
export function textViolations(field: string, text: string): Violation[] {
  return hasControl(text) ? [{ field, message: "no control characters", ruleId: `${field}.text` }] : [];
}
