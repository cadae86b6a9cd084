// What financeiro consumes: grupos' grupos and cotas (its own copy of what it bills, and the
// adesão bill), sorteios' contemplações (the money side). Idempotent through the inbox, and
// each handler is also safe to run twice on its own (unique keys, conditional updates).
import { create } from "@bufbuild/protobuf";
import { addDays, civilDate, isoDate } from "@consorcio/domain";
import { ParcelaGeradaSchema } from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { ParcelaTipo } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaAderidaSchema,
  CotaCanceladaSchema,
  CotaSituacaoAlteradaSchema,
  CotaTransferidaSchema,
  GrupoAtivadoSchema,
  GrupoAtualizadoSchema,
  GrupoCriadoSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { type Grupo, Indice } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { Modalidade } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import {
  ContemplacaoCanceladaSchema,
  ContemplacaoProcessadaSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { type ConsumerDefinition, on, type UnitOfWork } from "@consorcio/platform";
import { uuidv7 } from "uuidv7";
import { insertParcelas, planoDoGrupo, valoresDoMes } from "../cobranca.ts";
import { cancelContemplacao, processContemplacao } from "../contemplacao.ts";
import type { GeradorDocumentos } from "../documentos.ts";
import { civilFromProto, competenciaOf, protoFromCivil } from "../mapping.ts";
import { calcularRestituicao, restituirDesistencia } from "../restituicoes.ts";
import {
  findGrupo,
  type GrupoParams,
  insertCota,
  type CotaSituacao as Situacao,
  transferCota,
  updateCotaSituacao,
  upsertGrupo,
} from "../store/projecao.ts";

/** Days from adesão to the first bill's due date. */
export const ADESAO_VENCIMENTO_DIAS = 3;

export function grupoParams(g: Grupo): GrupoParams {
  return {
    id: g.id,
    codigo: g.codigo,
    precoCentavos: g.bem?.precoCentavos ?? 0n,
    prazoMeses: g.prazoMeses,
    taxaAdministracao: g.percentualTaxaAdministracao || "0",
    fundoReserva: g.percentualFundoReserva || "0",
    seguroMensal: g.percentualSeguroMensal || "0",
    antecipacaoTaxa: g.percentualTaxaAntecipada || "0",
    fundoComumPorMes: g.percentuaisFundoComum,
    diaVencimento: g.diaVencimento || 10,
    limiteInadimplencia: g.parcelasAtrasoExclusao || 3,
    percentualEncargosGrupo: g.encargos?.percentualGrupo || "50",
    penalidadeRestituicao: g.percentualPenalidadeRestituicao || "0",
    prazoLanceDiasUteis: g.regrasLance?.prazoPagamentoDiasUteis || 3,
    indice: Indice[g.indice] ?? "",
  };
}

const SITUACOES: Record<number, Situacao> = {
  [CotaSituacao.ATIVA]: "ATIVA",
  [CotaSituacao.INADIMPLENTE]: "INADIMPLENTE",
  [CotaSituacao.CONTEMPLADA]: "CONTEMPLADA",
  [CotaSituacao.EXCLUIDA]: "EXCLUIDA",
  [CotaSituacao.QUITADA]: "QUITADA",
  [CotaSituacao.CANCELADA]: "CANCELADA",
};

const MODALIDADES: Record<number, string> = {
  [Modalidade.SORTEIO]: "SORTEIO",
  [Modalidade.LANCE_FIXO]: "LANCE_FIXO",
  [Modalidade.LANCE_LIVRE]: "LANCE_LIVRE",
  [Modalidade.RESTITUICAO]: "RESTITUICAO",
};

/** A new cota: its copy here, and its first bill (with the TA advance, if the grupo has one). */
export async function onCotaAderida(
  uow: UnitOfWork,
  e: import("@consorcio/gen/consorcio/grupos/v1/eventos_pb.js").CotaAderida,
  documentos: GeradorDocumentos,
): Promise<void> {
  const { em } = uow;
  if (e.grupo) await upsertGrupo(em, grupoParams({ ...e.grupo, id: e.grupoId }));
  else if (!(await findGrupo(em, e.grupoId)))
    await upsertGrupo(em, {
      id: e.grupoId,
      codigo: "",
      precoCentavos: e.precoCentavos,
      prazoMeses: e.prazoMeses,
      taxaAdministracao: e.percentualTaxaAdministracao || "0",
      fundoReserva: e.percentualFundoReserva || "0",
      seguroMensal: e.percentualSeguroMensal || "0",
      antecipacaoTaxa: e.percentualTaxaAntecipada || "0",
      fundoComumPorMes: [],
      diaVencimento: e.diaVencimento || 10,
      limiteInadimplencia: 3,
      percentualEncargosGrupo: "50",
      penalidadeRestituicao: "0",
      prazoLanceDiasUteis: 3,
      indice: "",
    });
  const adesao = civilFromProto(e.dataAdesao, "data_adesao");
  const mesInicial = Math.max(1, e.mesPrimeiraParcela || 1);
  const novo = await insertCota(em, {
    id: e.cotaId,
    grupoId: e.grupoId,
    consorciadoId: e.consorciadoId,
    numero: e.numero,
    situacao: "ATIVA",
    contemplada: false,
    dataAdesao: isoDate(adesao),
    mesInicial,
  });
  if (!novo) return;
  const grupo = await findGrupo(em, e.grupoId);
  if (!grupo || mesInicial > grupo.prazoMeses) return;
  const plano = planoDoGrupo(grupo);
  const { valores, percentuais } = valoresDoMes(plano, mesInicial, mesInicial === 1);
  const id = uuidv7();
  const vencimento = addDays(adesao, ADESAO_VENCIMENTO_DIAS);
  const [inserted] = await insertParcelas(
    em,
    [
      {
        id,
        cotaId: e.cotaId,
        grupoId: e.grupoId,
        consorciadoId: e.consorciadoId,
        competencia: competenciaOf(adesao),
        tipo: "ADESAO",
        numero: mesInicial,
        vencimento,
        valores,
        percentuais,
      },
    ],
    documentos,
  );
  if (inserted)
    uow.publish(
      ParcelaGeradaSchema,
      create(ParcelaGeradaSchema, {
        parcelaId: id,
        cotaId: e.cotaId,
        grupoId: e.grupoId,
        competencia: competenciaOf(adesao),
        tipo: ParcelaTipo.ADESAO,
        vencimento: protoFromCivil(vencimento),
        valorCentavos: valores.totalCentavos,
      }),
    );
}

export function consumers(queue: string, documentos: () => GeradorDocumentos): ConsumerDefinition {
  return {
    queue,
    handlers: [
      on(GrupoCriadoSchema, async ({ em }, e) => {
        if (e.grupo) await upsertGrupo(em, grupoParams({ ...e.grupo, id: e.grupoId }));
      }),
      on(GrupoAtualizadoSchema, async ({ em }, e) => {
        if (e.grupo) await upsertGrupo(em, grupoParams({ ...e.grupo, id: e.grupoId }));
      }),
      on(GrupoAtivadoSchema, async ({ em }, e) => {
        if (e.grupo) await upsertGrupo(em, grupoParams({ ...e.grupo, id: e.grupoId }));
      }),
      on(CotaAderidaSchema, (uow, e) => onCotaAderida(uow, e, documentos())),
      on(CotaSituacaoAlteradaSchema, async ({ em }, e) => {
        const situacao = SITUACOES[e.situacao];
        if (situacao) await updateCotaSituacao(em, e.cotaId, situacao, e.contemplada);
      }),
      on(CotaTransferidaSchema, async ({ em }, e) => {
        await transferCota(em, e.cotaId, e.cessionarioConsorciadoId);
      }),
      on(CotaCanceladaSchema, async (uow, e) => {
        await updateCotaSituacao(uow.em, e.cotaId, "CANCELADA", false);
        await uow.em.execute(
          "update parcela set situacao = 'CANCELADA', version = version + 1, updated_at = now() where cota_id = ? and situacao in ('ABERTA', 'PARCIAL', 'VENCIDA')",
          [e.cotaId],
        );
        if (e.restituicaoIntegral) await restituirDesistencia(uow, e.cotaId);
      }),
      on(ContemplacaoProcessadaSchema, async (uow, e) => {
        const dataAssembleia = e.dataAssembleia
          ? civilDate(e.dataAssembleia.year, e.dataAssembleia.month, e.dataAssembleia.day)
          : civilDate(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, new Date().getUTCDate());
        if (e.modalidade === Modalidade.RESTITUICAO) {
          const grupo = await findGrupo(uow.em, e.grupoId);
          if (grupo)
            await calcularRestituicao(uow, {
              cotaId: e.cotaId,
              precoCentavos: grupo.precoCentavos,
              assembleiaId: e.assembleiaId,
            });
          return;
        }
        await processContemplacao(
          uow,
          {
            contemplacaoId: e.contemplacaoId,
            assembleiaId: e.assembleiaId,
            grupoId: e.grupoId,
            cotaId: e.cotaId,
            modalidade: MODALIDADES[e.modalidade] ?? "SORTEIO",
            creditoCentavos: e.creditoCentavos,
            lanceCentavos: e.lanceCentavos,
            lanceEmbutidoCentavos: e.lanceEmbutidoCentavos,
            dataAssembleia,
            dataContemplacao: e.dataContemplacao
              ? civilDate(e.dataContemplacao.year, e.dataContemplacao.month, e.dataContemplacao.day)
              : dataAssembleia,
          },
          documentos(),
        );
      }),
      on(ContemplacaoCanceladaSchema, async ({ em }, e) => {
        await cancelContemplacao(em, e.contemplacaoId);
      }),
    ],
  };
}
