// CPF and CNPJ: normalisation and check digits (the alphanumeric CNPJ of July 2026 included).

import type { FieldViolation } from "@consorcio/platform";
import { cnpj, cpf } from "cpf-cnpj-validator";

/** Digits only for CPF; upper-case letters and digits for CNPJ. */
export function normalizeDocumento(value: string): string {
  return value.replace(/[^0-9A-Za-z]/g, "").toUpperCase();
}

export function cpfViolation(value: string, field: string): FieldViolation | undefined {
  const normalized = normalizeDocumento(value);
  if (normalized.length !== 11) return { field, ruleId: "cpf.length", message: "CPF must have 11 digits" };
  if (/^(\d)\1{10}$/.test(normalized))
    return { field, ruleId: "cpf.repeated", message: "CPF with all digits equal is invalid" };
  return cpf.isValid(normalized)
    ? undefined
    : { field, ruleId: "cpf.check_digits", message: "CPF check digits do not match" };
}

export function cnpjViolation(value: string, field: string): FieldViolation | undefined {
  const normalized = normalizeDocumento(value);
  if (normalized.length !== 14)
    return { field, ruleId: "cnpj.length", message: "CNPJ must have 14 characters" };
  if (/^(.)\1{13}$/.test(normalized))
    return { field, ruleId: "cnpj.repeated", message: "CNPJ with all characters equal is invalid" };
  if (!/^[0-9A-Z]{12}[0-9]{2}$/.test(normalized)) {
    return { field, ruleId: "cnpj.format", message: "CNPJ check digits must be numeric" };
  }
  return cnpj.isValid(normalized)
    ? undefined
    : { field, ruleId: "cnpj.check_digits", message: "CNPJ check digits do not match" };
}
