// CNAB 240: retorno import (segments T and U, reconciled by nosso número, the original file kept
// in object storage, a report per line with its number) and remessa (P, Q, R) of a grupo's open
// boletos. Bank layouts are declarative files in layouts/: another bank is another file.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type CivilDate, isoDate } from "@consorcio/domain";
import {
  ImportacaoCnabSchema,
  LinhaResultado,
  type LinhaRetorno as LinhaRetornoProto,
  LinhaRetornoSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import {
  GenerateRemessaCnabRequestSchema,
  GenerateRemessaCnabResponseSchema,
  ImportRetornoCnabRequestSchema,
  ImportRetornoCnabResponseSchema,
  type ParcelaService,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import {
  InvalidArgumentError,
  principalKey,
  type ServiceContext,
  type UnitOfWork,
} from "@consorcio/platform";
import { uuidv7 } from "uuidv7";
import { lancesPagos } from "./contemplacao.ts";
import { type LayoutCnab240, loadLayout } from "./domain/cnab240/layout.ts";
import { writeRemessa } from "./domain/cnab240/remessa.ts";
import { type EmpresaCnab, parseRetorno } from "./domain/cnab240/retorno.ts";
import { hojeEmSaoPaulo } from "./inadimplencia.ts";
import { civilFromDb } from "./mapping.ts";
import { applyPagamentos, type PagamentoRecebido } from "./pagamentos.ts";
import type { Deps } from "./service.ts";
import { bulk } from "./store/sql.ts";

const layouts = new Map<string, LayoutCnab240>();

/** A layout file of layouts/ by name; an unknown or invalid one is InvalidArgument on `layout`. */
export async function layoutNamed(name: string): Promise<LayoutCnab240> {
  const cached = layouts.get(name);
  if (cached) return cached;
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name))
    throw new InvalidArgumentError([
      { field: "layout", ruleId: "layout.name", message: "invalid layout name" },
    ]);
  let layout: LayoutCnab240;
  try {
    const text = await readFile(new URL(`../layouts/${name}.json`, import.meta.url), "utf8");
    layout = loadLayout(JSON.parse(text));
  } catch {
    throw new InvalidArgumentError([
      { field: "layout", ruleId: "layout.unknown", message: `no CNAB 240 layout named ${name}` },
    ]);
  }
  layouts.set(name, layout);
  return layout;
}

export interface ResultadoImportacao {
  id: string;
  aplicadas: number;
  duplicadas: number;
  rejeitadas: number;
  linhas: LinhaRetornoProto[];
}

const line = (
  linha: number,
  resultado: LinhaResultado,
  nossoNumero: string,
  valorCentavos: bigint,
  motivo: string,
) => create(LinhaRetornoSchema, { linha, resultado, nossoNumero, valorCentavos, motivo });

/** Parses, reconciles and applies a retorno file in one transaction. A file with no valid header is InvalidArgument. */
export async function importRetorno(
  uow: UnitOfWork,
  input: { layout: LayoutCnab240; layoutName: string; nomeArquivo: string; conteudo: Uint8Array },
  storage: NonNullable<ServiceContext["storage"]>,
  actor: string,
): Promise<ResultadoImportacao & { arquivoKey: string; sha256: string }> {
  const text = Buffer.from(input.conteudo).toString("latin1");
  const retorno = parseRetorno(text, input.layout);
  if (!retorno.header || retorno.lines.length === 0) {
    const why = retorno.problems[0]?.error ?? "no título in the file";
    throw new InvalidArgumentError([
      { field: "conteudo", ruleId: "cnab.invalid_file", message: `not a CNAB 240 retorno: ${why}` },
    ]);
  }
  const id = uuidv7();
  const sha256 = createHash("sha256").update(input.conteudo).digest("hex");
  const arquivoKey = `cnab/retornos/${id}.ret`;
  // The original, byte for byte, uploaded while the database applies it; awaited before the report
  // that names it commits (a failed import leaves an object no row names, never the reverse).
  const stored = storage.put(arquivoKey, input.conteudo, {
    contentType: "text/plain",
    size: input.conteudo.length,
  });
  stored.catch(() => {});
  const report: (LinhaRetornoProto | undefined)[] = [];
  const itens: PagamentoRecebido[] = [];
  const slotOf: number[] = [];
  for (const l of retorno.lines) {
    if (!l.ok) {
      report.push(
        line(
          l.lineNumber,
          l.kind === "DUPLICADA" ? LinhaResultado.DUPLICADA : LinhaResultado.REJEITADA,
          "",
          0n,
          l.kind === "DUPLICADA" ? `duplicate of line ${l.duplicateOf}` : l.error,
        ),
      );
      continue;
    }
    const nossoNumero = l.nossoNumero.trim();
    if (!l.liquidacao) {
      report.push(
        line(
          l.lineNumber,
          LinhaResultado.REJEITADA,
          nossoNumero,
          0n,
          `movement ${l.codigoMovimento} is not a payment`,
        ),
      );
      continue;
    }
    if (!l.dataPagamento || l.valorPagoCentavos <= 0n) {
      report.push(
        line(
          l.lineNumber,
          LinhaResultado.REJEITADA,
          nossoNumero,
          l.valorPagoCentavos,
          "payment without date or amount",
        ),
      );
      continue;
    }
    const d = l.dataPagamento as CivilDate;
    slotOf.push(report.length);
    report.push(undefined);
    itens.push({
      canal: "CNAB",
      // The same payment in another file (a bank resending a retorno) is the same key.
      canalId: `${nossoNumero}|${l.codigoMovimento}|${isoDate(d)}|${l.valorPagoCentavos}`,
      por: "nosso_numero",
      chave: nossoNumero,
      valorCentavos: l.valorPagoCentavos,
      dataPagamento: d,
      motivo: `CNAB ${input.nomeArquivo} linha ${l.lineNumber}`,
    });
  }
  const okLines = retorno.lines.filter(
    (l) => l.ok && l.liquidacao && l.dataPagamento && l.valorPagoCentavos > 0n,
  );
  // One ledger entry per grupo for the file (a lote de baixa), named after the import.
  const results = await applyPagamentos(
    uow.em,
    itens,
    { actor },
    { origem: `importacao:${id}`, historico: `CNAB ${input.nomeArquivo}` },
  );
  results.forEach((r, i) => {
    const item = itens[i] as PagamentoRecebido;
    const lineNumber = (okLines[i] as { lineNumber: number }).lineNumber;
    report[slotOf[i] as number] =
      r.status === "APLICADO"
        ? line(
            lineNumber,
            LinhaResultado.APLICADA,
            item.chave,
            item.valorCentavos,
            r.pagamento.alocacao.resultado,
          )
        : r.status === "DUPLICADO"
          ? line(
              lineNumber,
              LinhaResultado.DUPLICADA,
              item.chave,
              item.valorCentavos,
              "payment already applied",
            )
          : line(
              lineNumber,
              LinhaResultado.REJEITADA,
              item.chave,
              item.valorCentavos,
              "unknown nosso número",
            );
  });
  await lancesPagos(
    uow,
    results.flatMap((r) => (r.status === "APLICADO" ? [r.pagamento.parcelaId] : [])),
  );
  // Problems of the file's structure (headers, trailers, counts) are reported with their lines too.
  for (const p of retorno.problems)
    report.push(line(p.lineNumber, LinhaResultado.REJEITADA, "", 0n, p.error));
  const linhas = (report as LinhaRetornoProto[]).sort((a, b) => a.linha - b.linha);
  const count = (r: LinhaResultado) => linhas.filter((l) => l.resultado === r).length;
  const resultado = {
    id,
    aplicadas: count(LinhaResultado.APLICADA),
    duplicadas: count(LinhaResultado.DUPLICADA),
    rejeitadas: count(LinhaResultado.REJEITADA),
    linhas,
  };
  await stored;
  await bulk(
    uow.em,
    `insert into importacao_cnab (id, layout, nome_arquivo, arquivo_key, sha256, aplicadas, duplicadas, rejeitadas, linhas)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
    [
      id,
      input.layoutName,
      input.nomeArquivo,
      arquivoKey,
      sha256,
      resultado.aplicadas,
      resultado.duplicadas,
      resultado.rejeitadas,
      // The lines not applied (applied ones are pagamentos, each naming its line).
      JSON.stringify(
        linhas
          .filter((l) => l.resultado !== LinhaResultado.APLICADA)
          .map((l) => ({
            linha: l.linha,
            resultado: LinhaResultado[l.resultado],
            nossoNumero: l.nossoNumero,
            motivo: l.motivo,
          })),
      ),
    ],
  );
  return { ...resultado, arquivoKey, sha256 };
}

const actorOf = (ctx: HandlerContext) => ctx.values.get(principalKey)?.subject ?? "system";

export function cnabImpl(context: ServiceContext, deps: Deps): Partial<ServiceImpl<typeof ParcelaService>> {
  const { tx } = context;
  return {
    async importRetornoCnab(req, ctx) {
      const layout = await layoutNamed(req.layout);
      const storage = context.storage;
      if (!storage) throw new Error("object storage is not configured");
      const response = await tx.idempotent(
        ctx,
        { schema: ImportRetornoCnabRequestSchema, message: req, requestId: req.requestId },
        ImportRetornoCnabResponseSchema,
        async (uow) => {
          const r = await importRetorno(
            uow,
            { layout, layoutName: req.layout, nomeArquivo: req.nomeArquivo, conteudo: req.conteudo },
            storage,
            actorOf(ctx),
          );
          return create(ImportRetornoCnabResponseSchema, {
            importacao: create(ImportacaoCnabSchema, {
              id: r.id,
              layout: req.layout,
              arquivoKey: r.arquivoKey,
              sha256: r.sha256,
              aplicadas: r.aplicadas,
              duplicadas: r.duplicadas,
              rejeitadas: r.rejeitadas,
            }),
            linhas: r.linhas,
          });
        },
      );
      context.relay.wake();
      return response;
    },
    async generateRemessaCnab(req, ctx) {
      const layout = await layoutNamed(req.layout);
      return tx.idempotent(
        ctx,
        { schema: GenerateRemessaCnabRequestSchema, message: req, requestId: req.requestId },
        GenerateRemessaCnabResponseSchema,
        async ({ em }) => {
          const rows = await bulk<{
            id: string;
            nosso_numero: string;
            vencimento: string;
            valor: string;
            numero: number;
            created_at: Date;
          }>(
            em,
            `select p.id, p.nosso_numero, p.vencimento::text, p.valor_centavos::text as valor, c.numero, p.created_at
             from parcela p join cota c on c.id = p.cota_id
             where p.grupo_id = ? and p.competencia = ? and p.situacao = 'ABERTA' order by p.id`,
            [req.grupoId, req.competencia],
          );
          const [nsa] = await bulk<{ n: number }>(em, "select nextval('remessa_nsa_seq')::int as n");
          const hoje = hojeEmSaoPaulo(context.clock.now());
          const b = deps.beneficiario;
          const empresa: EmpresaCnab = {
            banco: b.banco,
            bancoNome: deps.cnab.bancoNome,
            empresaTipoInscricao: "2",
            empresaInscricao: deps.cnab.empresaCnpj,
            empresaNome: deps.cnab.empresaNome,
            convenio: b.convenio,
            agencia: b.agencia,
            agenciaDv: deps.cnab.agenciaDv,
            conta: b.conta,
            contaDv: deps.cnab.contaDv,
          };
          const conteudo = writeRemessa(
            {
              empresa,
              sequencialArquivo: nsa?.n ?? 1,
              dataGeracao: hoje,
              titulos: rows.map((r) => ({
                nossoNumero: r.nosso_numero,
                numeroDocumento: `${req.competencia.replace("-", "")}C${r.numero}`.slice(0, 15),
                vencimento: civilFromDb(r.vencimento),
                valorCentavos: BigInt(r.valor),
                dataEmissao: civilFromDb(new Date(r.created_at)),
                // The payer's personal data lives in consorciados; the bank gets the cota reference.
                pagador: {
                  tipoInscricao: "1",
                  inscricao: "0",
                  nome: `COTA ${r.numero}`,
                  endereco: "",
                  bairro: "",
                  cep: "00000000",
                  cidade: "",
                  uf: "SP",
                },
                usoEmpresa: r.id.replace(/-/g, "").slice(0, 25),
              })),
            },
            layout,
          );
          return create(GenerateRemessaCnabResponseSchema, {
            nomeArquivo: `REM${String(nsa?.n ?? 1).padStart(6, "0")}.rem`,
            conteudo: Buffer.from(conteudo, "latin1"),
            boletos: rows.length,
          });
        },
      );
    },
  };
}
