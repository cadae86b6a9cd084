// consorciados add: one from flags, or many from a CSV file with a progress bar.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ConsorciadoSchema,
  ConsorciadoStatusSchema,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import {
  ConsorciadoService,
  CreateConsorciadoResponseSchema,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { parse as parseCsv } from "csv-parse/sync";
import { action } from "../context.ts";
import { CliError, formatError, UsageError } from "../errors.ts";
import { parseDate } from "../input.ts";
import { details, enumName, print, printJson, printValue, table } from "../output.ts";

type ConsorciadoInit = MessageInitShape<typeof ConsorciadoSchema>;

/** One consorciado's fields, as flags or a CSV row name them. */
interface Row {
  tipo?: string;
  cpf?: string;
  nome?: string;
  data_nascimento?: string;
  cnpj?: string;
  razao_social?: string;
  representante_nome?: string;
  representante_cpf?: string;
  email?: string;
  telefone?: string;
  chave_pix?: string;
}

function consorciadoFrom(row: Row, where: string): ConsorciadoInit {
  const tipo = (row.tipo ?? (row.cnpj ? "PJ" : "PF")).trim().toUpperCase();
  const common = {
    email: row.email?.trim() ?? "",
    telefones: row.telefone?.trim() ? [row.telefone.trim()] : [],
    chavePix: row.chave_pix?.trim() ?? "",
  };
  if (tipo === "PF" || tipo === "FISICA" || tipo === "PESSOA_FISICA")
    return {
      tipo: TipoPessoa.FISICA,
      pessoa: {
        case: "pf",
        value: {
          cpf: row.cpf?.trim() ?? "",
          nome: row.nome?.trim() ?? "",
          ...(row.data_nascimento?.trim()
            ? { dataNascimento: parseDate(row.data_nascimento, `${where} data_nascimento`) }
            : {}),
        },
      },
      ...common,
    };
  if (tipo === "PJ" || tipo === "JURIDICA" || tipo === "PESSOA_JURIDICA")
    return {
      tipo: TipoPessoa.JURIDICA,
      pessoa: {
        case: "pj",
        value: {
          cnpj: row.cnpj?.trim() ?? "",
          razaoSocial: row.razao_social?.trim() ?? "",
          representanteNome: row.representante_nome?.trim() ?? "",
          representanteCpf: row.representante_cpf?.trim() ?? "",
        },
      },
      ...common,
    };
  throw new UsageError(`${where}: tipo "${row.tipo}" is neither PF nor PJ`);
}

interface AddOptions {
  csv?: string;
  pf?: boolean;
  pj?: boolean;
  cpf?: string;
  nome?: string;
  nascimento?: string;
  cnpj?: string;
  razaoSocial?: string;
  representanteNome?: string;
  representanteCpf?: string;
  email?: string;
  telefone?: string;
  chavePix?: string;
  requestId?: string;
  concurrency: string;
}

interface Outcome {
  linha: number;
  id: string;
  error: string;
}

export function consorciadosCommands(program: Command): void {
  const consorciados = program.command("consorciados").description("the register of consorciados");
  consorciados
    .command("add")
    .description("add a consorciado (PF or PJ) from flags, or many from a CSV file")
    .option(
      "--csv <file>",
      "a CSV with a header: tipo (PF/PJ), cpf, nome, data_nascimento, cnpj, razao_social, representante_nome, representante_cpf, email, telefone, chave_pix",
    )
    .option("--pf", "pessoa física (with --cpf, --nome)")
    .option(
      "--pj",
      "pessoa jurídica (with --cnpj, --razao-social, --representante-nome, --representante-cpf)",
    )
    .option("--cpf <cpf>")
    .option("--nome <nome>")
    .option("--nascimento <YYYY-MM-DD>")
    .option("--cnpj <cnpj>", "numeric or alphanumeric")
    .option("--razao-social <razao>")
    .option("--representante-nome <nome>")
    .option("--representante-cpf <cpf>")
    .option("--email <email>")
    .option("--telefone <telefone>")
    .option("--chave-pix <chave>")
    .option("--request-id <id>", "idempotency key (CSV rows get one from the file and the line)")
    .option("--concurrency <n>", "CSV rows in flight", "4")
    .action(
      action<AddOptions>(async (context, options) => {
        const client = context.session.client(ConsorciadoService, "consorciados");
        if (!options.csv) {
          if (options.pf && options.pj) throw new UsageError("--pf or --pj, not both");
          const consorciado = consorciadoFrom(
            {
              tipo: options.pj ? "PJ" : options.pf ? "PF" : undefined,
              cpf: options.cpf,
              nome: options.nome,
              data_nascimento: options.nascimento,
              cnpj: options.cnpj,
              razao_social: options.razaoSocial,
              representante_nome: options.representanteNome,
              representante_cpf: options.representanteCpf,
              email: options.email,
              telefone: options.telefone,
              chave_pix: options.chavePix,
            },
            "flags",
          );
          if (!options.cpf && !options.cnpj) throw new UsageError("--cpf (PF) or --cnpj (PJ), or --csv FILE");
          const response = await client.createConsorciado({
            consorciado,
            requestId: options.requestId ?? "",
          });
          if (context.json) printJson(CreateConsorciadoResponseSchema, response);
          else
            print(
              details([
                ["id", response.consorciado?.id],
                ["status", enumName(ConsorciadoStatusSchema, response.consorciado?.status ?? 0)],
              ]),
            );
          return;
        }

        const text = readFileSync(options.csv, "utf8");
        let rows: Row[];
        try {
          rows = parseCsv(text, {
            columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
            skip_empty_lines: true,
            trim: true,
            bom: true,
          }) as Row[];
        } catch (error) {
          throw new UsageError(`${options.csv}: ${(error as Error).message}`);
        }
        // The same file again retries: each row's request id comes from the file's bytes and its line.
        const digest = createHash("sha256").update(text).digest("hex").slice(0, 24);
        const outcomes: Outcome[] = [];
        const bar = new SingleBar({
          format: "consorciados [{bar}] {value}/{total} ({errors} errors)",
          stream: process.stderr,
          hideCursor: true,
          noTTYOutput: false,
        });
        bar.start(rows.length, 0, { errors: 0 });
        let next = 0;
        let errors = 0;
        const worker = async () => {
          while (next < rows.length) {
            const index = next++;
            const linha = index + 2; // line 1 is the header
            try {
              const consorciado = create(
                ConsorciadoSchema,
                consorciadoFrom(rows[index] ?? {}, `line ${linha}`),
              );
              const response = await client.createConsorciado({
                consorciado,
                requestId: `csv-${digest}-${linha}`,
              });
              outcomes.push({ linha, id: response.consorciado?.id ?? "", error: "" });
            } catch (error) {
              errors++;
              outcomes.push({ linha, id: "", error: formatError(error).replace(/^error: /, "") });
            }
            bar.increment(1, { errors });
          }
        };
        const concurrency = Math.max(1, Math.min(32, Number(options.concurrency) || 4));
        await Promise.all(Array.from({ length: concurrency }, worker));
        bar.stop();
        outcomes.sort((a, b) => a.linha - b.linha);
        if (context.json) printValue(outcomes);
        else
          print(
            table(
              ["linha", "id", "erro"],
              outcomes.map((o) => [o.linha, o.id, o.error]),
            ),
          );
        if (errors > 0) throw new CliError(`${errors} of ${rows.length} rows refused`);
        if (!context.json) print(`${rows.length} consorciados added`);
      }),
    );
}
