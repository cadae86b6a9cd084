// Reading what the operator gives: enum names, dates, money, secrets from a terminal or stdin.
import { createInterface } from "node:readline/promises";
import type { DescEnum } from "@bufbuild/protobuf";
import { CliError, UsageError } from "./errors.ts";

/** An enum value by its short (ATIVO) or full name (GRUPO_STATUS_ATIVO), case-insensitive. */
export function enumValue(schema: DescEnum, text: string, flag: string): number {
  const wanted = text.trim().toUpperCase();
  const found = schema.values.find(
    (v) => v.number !== 0 && (v.localName.toUpperCase() === wanted || v.name === wanted),
  );
  if (!found)
    throw new UsageError(
      `${flag}: "${text}" is not one of ${schema.values
        .filter((v) => v.number !== 0)
        .map((v) => v.localName)
        .join(", ")}`,
    );
  return found.number;
}

/** The full enum name proto3 JSON wants, from a short or full name. */
export function enumJsonName(schema: DescEnum, text: string, flag: string): string {
  const number = enumValue(schema, text, flag);
  return schema.values.find((v) => v.number === number)?.name ?? text;
}

export function parseDate(text: string, flag: string): { year: number; month: number; day: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag}: "${text}" is not a date (YYYY-MM-DD)`);
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
}

/** Reais as typed (1234.56 or 1234,56, no thousands separators) to centavos, exactly. */
export function parseReais(text: string, flag: string): bigint {
  const match = /^(\d+)(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag}: "${text}" is not an amount in reais (e.g. 300000.00)`);
  return BigInt(match[1] ?? "0") * 100n + BigInt((match[2] ?? "").padEnd(2, "0"));
}

export function parseInteger(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${flag}: "${text}" is not an integer`);
  return Number(text);
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString("utf8");
}

export async function ask(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new UsageError(`no terminal to ask "${question.trim()}": pass it as a flag`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** Reads a line from the terminal without echoing it. */
export function askSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError("no terminal to ask for the password: use --password-stdin");
  // Echo off before the prompt shows, so nothing typed after it is echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") {
          finish();
          resolve(value);
          return;
        }
        if (char === "\u0003") {
          finish();
          reject(new CliError("cancelled"));
          return;
        }
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on("data", onData);
  });
}
