// A grupo's whole life across every service, in-process on real PostgreSQL, with real RabbitMQ and
// Redis or with npm start's embedded bus and cache (issue 13): 20 cotas (PF and PJ, one
// alphanumeric CNPJ) join and the grupo is activated; each month financeiro bills, the parcelas are paid by Pix webhook, CNAB retorno and by hand, some
// late with their encargos checked against the engine; two cotas stop paying and are excluded;
// each month an assembleia takes lances of every kind and draws from Loteria Federal tickets
// entered and confirmed by two users; one winning lance goes unpaid and is compensated; credits
// are released and restitutions paid. At the end every extrato is consistent, the grupo's ledger
// sums to zero and its CAIXA equals the money in minus the money out, auditoria's chain verifies,
// and replaying every message the bus carried changes no business table. The clock is moved.
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { addDays, type CivilDate, civilDate, compareDates } from "@consorcio/domain";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { CreditoService } from "@consorcio/gen/consorcio/financeiro/v1/credito_service_pb.js";
import { ExtratoService } from "@consorcio/gen/consorcio/financeiro/v1/extrato_service_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import {
  CanalPagamento,
  Conta,
  CreditoSituacao,
  type Parcela,
  ParcelaSituacao,
  ParcelaTipo,
  RestituicaoSituacao,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import { RestituicaoService } from "@consorcio/gen/consorcio/financeiro/v1/restituicao_service_pb.js";
import { type Cota, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  GrupoStatus,
  Indice,
  Segmento,
  TipoLance as TipoLanceGrupo,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import {
  AssembleiaStatus,
  type Contemplacao,
  ContemplacaoStatus,
  Modalidade,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { AssembleiaService } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import { TipoLance } from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import { LanceService } from "@consorcio/gen/consorcio/sorteios/v1/lance_service_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { afterAll, beforeAll, expect, test } from "vitest";
import { FEBRABAN_240_V088 } from "../../financeiro/src/domain/cnab240/layout.ts";
import { type EmpresaCnab, writeRetorno } from "../../financeiro/src/domain/cnab240/retorno.ts";
import { calculateEncargos } from "../../financeiro/src/domain/encargos.ts";
import { PIX_SIGNATURE_HEADER, PIX_WEBHOOK_PATH, signPix } from "../../financeiro/src/pix-webhook.ts";
import { INADIMPLENCIA_JOB, LANCES_JOB } from "../../financeiro/src/service.ts";
import { AGENDAMENTO_JOB } from "../../sorteios/src/service.ts";
import { cnpjArbitrary, cpfArbitrary, nomeArbitrary, razaoSocialArbitrary, sample } from "../src/index.ts";
import { type BusMode, type Platform, startPlatform } from "./lifecycle-support.ts";

/** The grupo's prazo as the issue asks. */
export const PRAZO_COMPLETO = 12;
/** Months lived (and the grupo's prazo); LIFECYCLE_MESES shortens a run by hand. */
const MESES_PADRAO = Number(process.env.LIFECYCLE_MESES ?? PRAZO_COMPLETO);
const COTAS = 20;
const PRECO = 1_200_000n; // R$ 12.000,00
const ANO = 2027;
/** Cotas that stop paying from month 2 on (chosen then among the not contemplated). */
const PARAM_EXCLUSAO = 3;
/** In month 1 the first winning lance is not paid: it is cancelled and compensated. */
const MES_LANCE_NAO_PAGO = 1;

/** Registers the lifecycle's tests, on real RabbitMQ and Redis or on the embedded bus and cache. */
export function defineLifecycle(mode: BusMode, meses = MESES_PADRAO): void {
  const MESES = meses;
  const FC_MES = PRECO / BigInt(MESES);
  let p: Platform;
  let c: {
    grupos: Client<typeof GrupoService>;
    cotas: Client<typeof CotaService>;
    consorciados: Client<typeof ConsorciadoService>;
    parcelas: Client<typeof ParcelaService>;
    ledger: Client<typeof LedgerService>;
    extrato: Client<typeof ExtratoService>;
    creditos: Client<typeof CreditoService>;
    restituicoes: Client<typeof RestituicaoService>;
    assembleias: Client<typeof AssembleiaService>;
    lances: Client<typeof LanceService>;
    auditoria: Client<typeof AuditoriaService>;
  };
  const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  let staff: ReturnType<typeof as>;
  let operadorA: ReturnType<typeof as>;
  let operadorB: ReturnType<typeof as>;

  beforeAll(async () => {
    p = await startPlatform(new Date(`${ANO}-01-04T12:00:00Z`), mode);
    const t = (name: keyof Platform["services"]) =>
      createConnectTransport({ baseUrl: p.services[name].service.url, httpVersion: "2" });
    c = {
      grupos: createClient(GrupoService, t("grupos")),
      cotas: createClient(CotaService, t("grupos")),
      consorciados: createClient(ConsorciadoService, t("consorciados")),
      parcelas: createClient(ParcelaService, t("financeiro")),
      ledger: createClient(LedgerService, t("financeiro")),
      extrato: createClient(ExtratoService, t("financeiro")),
      creditos: createClient(CreditoService, t("financeiro")),
      restituicoes: createClient(RestituicaoService, t("financeiro")),
      assembleias: createClient(AssembleiaService, t("sorteios")),
      lances: createClient(LanceService, t("sorteios")),
      auditoria: createClient(AuditoriaService, t("auditoria")),
    };
    staff = as(
      await p.issuer.token({
        roles: [Role.ADMIN, Role.GERENTE, Role.OPERADOR, Role.FINANCEIRO, Role.AUDITOR],
        subject: "staff",
      }),
    );
    operadorA = as(await p.issuer.token({ roles: [Role.OPERADOR], subject: "operador-a" }));
    operadorB = as(await p.issuer.token({ roles: [Role.OPERADOR], subject: "operador-b" }));
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
  });

  const empresa: EmpresaCnab = {
    banco: "001",
    bancoNome: "BANCO DO BRASIL",
    empresaTipoInscricao: "2",
    empresaInscricao: "12345678000195",
    empresaNome: "ADMINISTRADORA TESTE",
    convenio: "1234567",
    agencia: "1234",
    agenciaDv: "5",
    conta: "56789",
    contaDv: "9",
  };

  const proto = (d: CivilDate) => ({ year: d.year, month: d.month, day: d.day });
  const civil = (d: { year: number; month: number; day: number } | undefined) =>
    civilDate(d?.year ?? 0, d?.month ?? 0, d?.day ?? 0);
  const iso = (d: CivilDate) =>
    `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
  /** Noon in São Paulo (15:00 UTC) of a civil date: jobs see that day. */
  const meioDia = (d: CivilDate) => new Date(`${iso(d)}T15:00:00Z`);
  const competencia = (m: number) => `${ANO}-${String(m).padStart(2, "0")}`;
  const reais = (v: bigint) => `${v / 100n}.${String(v % 100n).padStart(2, "0")}`;
  /** The five prizes of the extraction before month m's assembleia (N = 20: w = 2, no discards). */
  const premios = (m: number) =>
    Array.from({ length: 5 }, (_, k) =>
      String((m * 7919 + (k + 1) * 104_729 + m * k * 31) % 100_000).padStart(5, "0"),
    );

  // What the test itself knows of the money, to check the ledger against.
  let entrou = 0n;
  let creditosPagos = 0n;
  let restituicoesPagas = 0n;
  const encargosEsperados = new Map<string, bigint>();
  const lancePagoDe = new Map<string, bigint>();
  let pixSeq = 0;
  let cnabSeq = 0;

  async function pix(parcela: Parcela, valor: bigint, data: CivilDate) {
    pixSeq++;
    const body = JSON.stringify({
      pix: [
        {
          endToEndId: `E12345678${iso(data).replaceAll("-", "")}1200${String(pixSeq).padStart(11, "0")}`,
          txid: parcela.pixTxid,
          valor: reais(valor),
          horario: `${iso(data)}T10:00:00.000-03:00`,
        },
      ],
    });
    const res = await fetch(`${p.services.financeiro.service.url}${PIX_WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", [PIX_SIGNATURE_HEADER]: signPix(p.pixSecret, body) },
      body,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { aplicados: number }).aplicados).toBe(1);
    entrou += valor;
  }

  async function cnab(titulos: { parcela: Parcela; valor: bigint }[], data: CivilDate) {
    if (titulos.length === 0) return;
    cnabSeq++;
    const file = writeRetorno(
      {
        empresa,
        sequencialArquivo: cnabSeq,
        dataGeracao: data,
        titulos: titulos.map(({ parcela, valor }) => ({
          nossoNumero: parcela.nossoNumero,
          codigoMovimento: "06",
          valorTituloCentavos: parcela.valorCentavos,
          valorPagoCentavos: valor,
          dataPagamento: data,
          dataCredito: data,
        })),
      },
      FEBRABAN_240_V088,
    );
    const { importacao } = await c.parcelas.importRetornoCnab(
      {
        layout: "febraban-240-v088",
        nomeArquivo: `RET${String(cnabSeq).padStart(4, "0")}.ret`,
        conteudo: Buffer.from(file, "latin1"),
        requestId: `cnab-${cnabSeq}`,
      },
      staff,
    );
    expect(importacao?.aplicadas).toBe(titulos.length);
    for (const t of titulos) entrou += t.valor;
  }

  async function manual(parcela: Parcela, valor: bigint, data: CivilDate, motivo = "pagamento no caixa") {
    await c.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: valor,
        dataPagamento: proto(data),
        motivo,
        requestId: `m-${parcela.id}`,
      },
      staff,
    );
    entrou += valor;
  }

  async function parcelasDoMes(grupoId: string, m: number): Promise<Parcela[]> {
    const out: Parcela[] = [];
    let pageToken = "";
    do {
      const r = await c.parcelas.listParcelas(
        { grupoId, competencia: competencia(m), pageSize: 500, pageToken },
        staff,
      );
      out.push(...r.parcelas);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return out.filter((x) => x.tipo !== ParcelaTipo.LANCE);
  }

  async function cotasDoGrupo(grupoId: string): Promise<Cota[]> {
    return (await c.cotas.listCotas({ grupoId, pageSize: 100 }, staff)).cotas;
  }

  const state = {
    grupoId: "",
    cotas: [] as Cota[],
    paraDePagar: [] as string[],
    contemplacoes: [] as Contemplacao[],
    lanceNaoPago: "",
    compensacao: "",
    lancesPagos: [] as string[],
  };

  test(`${mode}: a grupo of ${COTAS} cotas lives ${MESES} months across every service`, async () => {
    const inicio = Date.now();
    // 1. The grupo, 20 consorciados (PF and PJ, one with an alphanumeric CNPJ), their adesões.
    const { grupo } = await c.grupos.createGrupo(
      {
        grupo: {
          codigo: `L-${Date.now().toString(36).toUpperCase()}`,
          nome: "Grupo do ciclo de vida",
          segmento: Segmento.MOTOCICLETA,
          bem: { descricao: "Motocicleta de referência", precoCentavos: PRECO },
          prazoMeses: MESES,
          quantidadeCotas: COTAS,
          percentualTaxaAdministracao: "12",
          percentualFundoReserva: "2",
          indice: Indice.IPCA,
          diaVencimento: 10,
          primeiraAssembleia: { year: ANO, month: 1, day: 20 },
          contemplacoesPorAssembleia: 1,
          parcelasAtrasoExclusao: PARAM_EXCLUSAO,
          regrasLance: {
            tiposPermitidos: [TipoLanceGrupo.LIVRE, TipoLanceGrupo.FIXO, TipoLanceGrupo.EMBUTIDO],
            percentualFixo: "30",
            percentualMinimoLivre: "5",
          },
        },
        requestId: "grupo-1",
      },
      staff,
    );
    const grupoId = grupo?.id ?? "";
    state.grupoId = grupoId;
    const alfa = sample(cnpjArbitrary({ alphanumeric: true }).filter((x) => /[A-Z]/.test(x.slice(0, 12))));
    for (let i = 0; i < COTAS; i++) {
      const pj = i % 4 === 3 || i === 0;
      const { consorciado } = await c.consorciados.createConsorciado(
        {
          consorciado: pj
            ? {
                tipo: TipoPessoa.JURIDICA,
                pessoa: {
                  case: "pj",
                  value: {
                    cnpj: i === 0 ? alfa : sample(cnpjArbitrary()),
                    razaoSocial: sample(razaoSocialArbitrary()),
                    representanteNome: sample(nomeArbitrary()),
                    representanteCpf: sample(cpfArbitrary()),
                  },
                },
                email: `pj${i}@example.com`,
              }
            : {
                tipo: TipoPessoa.FISICA,
                pessoa: { case: "pf", value: { cpf: sample(cpfArbitrary()), nome: sample(nomeArbitrary()) } },
                email: `pf${i}@example.com`,
              },
          requestId: `consorciado-${i}`,
        },
        staff,
      );
      const { cota } = await c.cotas.aderirGrupo(
        { grupoId, consorciadoId: consorciado?.id ?? "", requestId: `adesao-${i}` },
        staff,
      );
      if (!cota) throw new Error("no cota");
      state.cotas.push(cota);
    }
    expect(state.cotas.map((x) => x.numero).sort((a, b) => a - b)).toEqual(
      Array.from({ length: COTAS }, (_, i) => i + 1),
    );
    const numeroDe = new Map(state.cotas.map((x) => [x.id, x.numero]));
    const { datas: cronograma } = await c.grupos.getCronograma({ grupoId }, staff);
    expect(cronograma).toHaveLength(MESES);

    for (let m = 1; m <= MESES; m++) {
      const data = cronograma[m - 1];
      const assembleiaDia = civil(data?.assembleia);
      // 2. Billing (month 1 is the adesão's parcela, made by CotaAderida).
      if (m > 1) {
        await p.clock.set(new Date(`${competencia(m)}-02T15:00:00Z`));
        const r = await c.parcelas.generateCobranca(
          { grupoId, competencia: competencia(m), requestId: `cobranca-${m}` },
          staff,
        );
        expect(r.geradas).toBeGreaterThan(0);
      }
      const parcelas = await eventually(async () => {
        const list = await parcelasDoMes(grupoId, m);
        return list.length >= COTAS - (m > PARAM_EXCLUSAO + 1 ? 2 : 0) && list;
      }, 20_000);
      // Two cotas stop paying from month 2: not contemplated, and not the lance of month 1.
      if (m === 2) {
        const tomadas = new Set(state.contemplacoes.map((x) => x.cotaId));
        state.paraDePagar = state.cotas
          .filter((x) => !tomadas.has(x.id))
          .slice(-2)
          .map((x) => x.id);
      }
      const abertas = parcelas.filter(
        (x) => x.situacao !== ParcelaSituacao.PAGA && x.situacao !== ParcelaSituacao.CANCELADA,
      );
      // One cota pays late each month from month 2 on (rotating), the others in time by their channel.
      const atrasada =
        m > 1
          ? abertas.find(
              (x) => (numeroDe.get(x.cotaId) ?? 0) % 6 === m % 6 && !state.paraDePagar.includes(x.cotaId),
            )
          : undefined;
      const emDia = abertas.filter((x) => x !== atrasada && !state.paraDePagar.includes(x.cotaId));
      const pagoEm = m === 1 ? civil({ year: ANO, month: 1, day: 5 }) : civilDate(ANO, m, 8);
      await p.clock.set(meioDia(pagoEm));
      const viaCnab: { parcela: Parcela; valor: bigint }[] = [];
      for (const x of emDia) {
        const n = numeroDe.get(x.cotaId) ?? 0;
        if (n % 3 === 0) await pix(x, x.valorCentavos, pagoEm);
        else if (n % 3 === 1) viaCnab.push({ parcela: x, valor: x.valorCentavos });
        else await manual(x, x.valorCentavos, pagoEm);
      }
      await cnab(viaCnab, pagoEm);
      // After the due date (and its business-day grace): overdue parcelas, arrears, exclusions.
      const dia15 = civilDate(ANO, m, 15);
      await p.clock.set(meioDia(dia15));
      expect((await p.services.financeiro.service.runJob(INADIMPLENCIA_JOB)).outcome).toBe("succeeded");
      if (atrasada) {
        const { parcela } = await c.parcelas.getParcela({ id: atrasada.id }, staff);
        expect(parcela?.situacao).toBe(ParcelaSituacao.VENCIDA);
        // grupos hears InadimplenciaDetectada first: the cota does not compete while in arrears.
        await eventually(
          async () =>
            (await c.cotas.getCota({ cotaId: atrasada.cotaId }, staff)).cota?.situacao ===
            CotaSituacao.INADIMPLENTE,
          15_000,
        );
        const esperado = calculateEncargos({
          valorCentavos: atrasada.valorCentavos,
          vencimento: civil(atrasada.vencimento),
          pagamento: dia15,
        });
        expect(esperado.diasAtraso).toBeGreaterThan(0);
        if (m % 2 === 0) await pix(atrasada, esperado.totalCentavos, dia15);
        else await manual(atrasada, esperado.totalCentavos, dia15, "pagamento em atraso no caixa");
        const { pagamentos } = await c.parcelas.listPagamentos({ parcelaId: atrasada.id }, staff);
        expect(pagamentos).toHaveLength(1);
        expect(pagamentos[0]).toMatchObject({
          canal: m % 2 === 0 ? CanalPagamento.PIX : CanalPagamento.MANUAL,
          principalCentavos: atrasada.valorCentavos,
          multaCentavos: esperado.multaCentavos,
          jurosCentavos: esperado.jurosCentavos,
        });
        encargosEsperados.set(
          atrasada.cotaId,
          (encargosEsperados.get(atrasada.cotaId) ?? 0n) + esperado.encargosCentavos,
        );
        // grupos hears InadimplenciaRegularizada: the cota competes again.
        await eventually(
          async () =>
            (await c.cotas.getCota({ cotaId: atrasada.cotaId }, staff)).cota?.situacao !==
            CotaSituacao.INADIMPLENTE,
          15_000,
        );
      }

      // 3. The assembleia: lances of every kind, the extraction entered and confirmed, the apuração.
      // Lances two days before (a window closing by the clock closes the day before at the latest).
      await p.clock.set(meioDia(addDays(assembleiaDia, -2)));
      expect((await p.services.sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
      const assembleia = await eventually(async () =>
        (await c.assembleias.listAssembleias({ grupoId }, staff)).assembleias.find(
          (a) => compareDates(civil(a.data), assembleiaDia) === 0,
        ),
      );
      if (assembleia.status === AssembleiaStatus.AGENDADA)
        await c.assembleias.abrirLances({ id: assembleia.id, version: assembleia.version }, staff);
      const cotasAgora = await cotasDoGrupo(grupoId);
      const aptas = cotasAgora.filter((x) => x.situacao === CotaSituacao.ATIVA && !x.contemplada);
      const propostas: [Cota | undefined, TipoLance, string, string][] = [
        [aptas[0], TipoLance.EMBUTIDO, "45", "20"],
        [aptas[1], TipoLance.FIXO, "", ""],
        [aptas[2], TipoLance.LIVRE, String(40 + m), ""],
        [aptas[3], TipoLance.LIVRE, String(35 + m), ""],
      ];
      for (const [cota, tipo, percentual, percentualEmbutido] of propostas) {
        if (!cota) continue;
        await c.lances.submitLance(
          {
            assembleiaId: assembleia.id,
            cotaId: cota.id,
            consorciadoId: cota.consorciadoId,
            tipo,
            percentual,
            percentualEmbutido,
            requestId: `lance-${m}-${cota.numero}`,
          },
          staff,
        );
      }
      await p.clock.set(meioDia(assembleiaDia));
      if (m === 1) {
        const { grupo: ativo } = await c.grupos.ativarGrupo({ grupoId, requestId: "ativar" }, staff);
        expect(ativo?.status).toBe(GrupoStatus.ATIVO);
      }
      let a = (await c.assembleias.getAssembleia({ id: assembleia.id }, staff)).assembleia;
      const extracao = {
        numero: 6000 + m,
        data: proto(addDays(assembleiaDia, -1)),
        premios: premios(m),
      };
      a = (
        await c.assembleias.registerExtracao(
          { id: a?.id ?? "", version: a?.version ?? 0, extracao },
          operadorA,
        )
      ).assembleia;
      a = (
        await c.assembleias.confirmExtracao(
          { id: a?.id ?? "", version: a?.version ?? 0, extracao },
          operadorB,
        )
      ).assembleia;
      const { apuracao } = await c.assembleias.runApuracao(
        { id: a?.id ?? "", version: a?.version ?? 0 },
        staff,
      );
      expect((await c.assembleias.verifyApuracao({ id: a?.id ?? "" }, staff)).conforme).toBe(true);
      const contemplacoes = apuracao?.contemplacoes ?? [];
      // Eligible cotas only, never an excluded or overdue one (but for restitution).
      for (const x of contemplacoes)
        if (x.modalidade !== Modalidade.RESTITUICAO) expect(aptas.map((y) => y.id)).toContain(x.cotaId);
      if (m === 1) expect(contemplacoes.some((x) => x.modalidade === Modalidade.SORTEIO)).toBe(true);
      state.contemplacoes.push(...contemplacoes);

      // The saga: credits booked; lances paid (but the one left unpaid) and credits released.
      const lances = contemplacoes.filter((x) =>
        [Modalidade.LANCE_LIVRE, Modalidade.LANCE_FIXO].includes(x.modalidade),
      );
      if (m === MES_LANCE_NAO_PAGO) {
        expect(lances.length).toBeGreaterThan(0);
        state.lanceNaoPago = lances[0]?.id ?? "";
      }
      const pagarLance = async (contemplacaoId: string) => {
        const credito = await eventually(
          async () =>
            (await c.creditos.getCredito({ contemplacaoId }, staff).catch(() => undefined))?.credito,
          15_000,
        );
        const lance = await eventually(async () =>
          (await c.parcelas.listParcelas({ cotaId: credito.cotaId }, staff)).parcelas.find(
            (x) => x.tipo === ParcelaTipo.LANCE && x.situacao === ParcelaSituacao.ABERTA,
          ),
        );
        await manual(lance, lance.valorCentavos, hoje(), "lance pago");
        lancePagoDe.set(credito.cotaId, (lancePagoDe.get(credito.cotaId) ?? 0n) + lance.valorCentavos);
        state.lancesPagos.push(credito.cotaId);
      };
      for (const x of lances) if (x.id !== state.lanceNaoPago) await pagarLance(x.id);
      if (m === MES_LANCE_NAO_PAGO) {
        const credito = await eventually(
          async () =>
            (
              await c.creditos
                .getCredito({ contemplacaoId: state.lanceNaoPago }, staff)
                .catch(() => undefined)
            )?.credito,
          15_000,
        );
        // Past its deadline, financeiro's job says LanceNaoPago; sorteios cancels and compensates.
        const depois = civil(credito.lancePrazo);
        await p.clock.set(meioDia(civilDate(depois.year, depois.month, depois.day + 1)));
        expect((await p.services.financeiro.service.runJob(LANCES_JOB)).outcome).toBe("succeeded");
        const saga = await eventually(async () => {
          const s = (await c.assembleias.getSaga({ id: a?.id ?? "" }, staff)).saga;
          return s?.contemplacoes.some((x) => x.substituiContemplacaoId === state.lanceNaoPago) && s;
        }, 20_000);
        expect(saga.contemplacoes.find((x) => x.id === state.lanceNaoPago)?.status).toBe(
          ContemplacaoStatus.CANCELADA,
        );
        const compensacao = saga.contemplacoes.find((x) => x.substituiContemplacaoId === state.lanceNaoPago);
        state.compensacao = compensacao?.id ?? "";
        state.contemplacoes.push(compensacao as Contemplacao);
        expect(
          (await c.creditos.getCredito({ contemplacaoId: state.lanceNaoPago }, staff)).credito?.situacao,
        ).toBe(CreditoSituacao.CANCELADO);
        await pagarLance(state.compensacao);
      }
      // Guarantees and release of every credit waiting for them.
      for (const x of [...contemplacoes, ...(m === MES_LANCE_NAO_PAGO ? [{ id: state.compensacao }] : [])]) {
        if (x.id === state.lanceNaoPago || ("modalidade" in x && x.modalidade === Modalidade.RESTITUICAO))
          continue;
        const credito = await eventually(async () => {
          const r = (await c.creditos.getCredito({ contemplacaoId: x.id }, staff).catch(() => undefined))
            ?.credito;
          return r?.situacao === CreditoSituacao.A_LIBERAR && r;
        }, 15_000);
        await c.creditos.registerGarantias(
          { contemplacaoId: x.id, descricao: "alienação fiduciária", requestId: `g-${x.id}` },
          staff,
        );
        const { credito: liberado } = await c.creditos.liberarCredito(
          { contemplacaoId: x.id, requestId: `l-${x.id}` },
          staff,
        );
        expect(liberado?.situacao).toBe(CreditoSituacao.LIBERADO);
        creditosPagos += credito.creditoCentavos - credito.lanceEmbutidoCentavos;
      }
      // Restitutions of excluded cotas drawn for them are paid out.
      const { restituicoes } = await c.restituicoes.listRestituicoes({ grupoId, pageSize: 100 }, staff);
      for (const r of restituicoes.filter((x) => x.situacao === RestituicaoSituacao.CALCULADA)) {
        // % of FC paid (one parcela, the cota stopped after it) × the price in force, no penalty.
        expect(r.valorCentavos).toBe(FC_MES);
        await c.restituicoes.payRestituicao({ id: r.id, requestId: `r-${r.id}` }, staff);
        restituicoesPagas += r.valorCentavos;
      }
    }
    function hoje(): CivilDate {
      const d = p.clock.now();
      const local = new Date(d.getTime() - 3 * 3_600_000);
      return civilDate(local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate());
    }
    await p.quiet();

    // 4. The two cotas that stopped paying were excluded after the grupo's threshold.
    const finais = await cotasDoGrupo(grupoId);
    for (const id of state.paraDePagar)
      expect(finais.find((x) => x.id === id)?.situacao).toBe(CotaSituacao.EXCLUIDA);
    const contempladas = finais.filter((x) => x.contemplada);
    expect(contempladas.length).toBeGreaterThanOrEqual(MESES);

    // Every extrato is consistent.
    for (const cota of finais) {
      const { extrato } = await c.extrato.getExtrato({ cotaId: cota.id }, staff);
      const vivas = (extrato?.parcelas ?? []).filter((x) => x.situacao !== ParcelaSituacao.CANCELADA);
      const soma = (f: (x: Parcela) => bigint) => vivas.reduce((t, x) => t + f(x), 0n);
      expect(extrato?.pagoCentavos).toBe(soma((x) => x.pagoCentavos));
      expect((extrato?.pagoCentavos ?? 0n) + (extrato?.devidoCentavos ?? 0n)).toBe(
        soma((x) => x.valorCentavos),
      );
      expect(extrato?.encargosPagosCentavos).toBe(encargosEsperados.get(cota.id) ?? 0n);
      const mensais = vivas.filter((x) => x.tipo !== ParcelaTipo.LANCE);
      if (state.paraDePagar.includes(cota.id)) {
        expect(extrato?.pagoCentavos).toBe(mensais[0]?.valorCentavos);
        continue;
      }
      // One parcela a month of the plan, all paid: paid + owed is the plan's total for its months.
      expect(mensais.map((x) => x.numero).sort((x, y) => x - y)).toEqual(
        Array.from({ length: MESES }, (_, i) => i + 1),
      );
      expect(extrato?.devidoCentavos).toBe(0n);
      expect(extrato?.pagoCentavos).toBe(
        mensais.reduce((t, x) => t + x.valorCentavos, 0n) + (lancePagoDe.get(cota.id) ?? 0n),
      );
      for (const x of mensais) expect(x.componentes?.fundoComumCentavos).toBe(FC_MES);
      if (!lancePagoDe.has(cota.id)) expect(extrato?.fundoComumPagoPercentual).toBe("100");
    }

    // The grupo's ledger balances and its CAIXA is the money in minus the money out.
    const { balancete } = await c.ledger.getBalancete({ grupoId }, staff);
    expect(balancete?.somaCentavos).toBe(0n);
    const saldo = (conta: Conta) => balancete?.saldos.find((s) => s.conta === conta)?.saldoCentavos ?? 0n;
    expect(entrou).toBeGreaterThan(0n);
    expect(saldo(Conta.CAIXA)).toBe(entrou - creditosPagos - restituicoesPagas);
    expect(saldo(Conta.CREDITOS_A_PAGAR)).toBe(0n);
    // Every way in and out was exercised.
    const modalidades = new Set(state.contemplacoes.map((x) => Modalidade[x.modalidade]));
    expect([...modalidades].sort()).toEqual(["LANCE_FIXO", "LANCE_LIVRE", "RESTITUICAO", "SORTEIO"]);
    expect(
      state.contemplacoes.some(
        (x) => x.modalidade === Modalidade.LANCE_LIVRE && x.lanceEmbutidoCentavos > 0n,
      ),
    ).toBe(true);
    expect(restituicoesPagas).toBeGreaterThan(0n);
    expect(encargosEsperados.size).toBeGreaterThanOrEqual(Math.min(MESES - 2, 6));
    console.info(
      `lifecycle: ${MESES} months, ${state.contemplacoes.length} contemplações (${[...modalidades].join(", ")}), ${encargosEsperados.size} late payers, restituições R$ ${reais(restituicoesPagas)}, ${p.recorded.length} messages, ${Math.round((Date.now() - inicio) / 1000)} s`,
    );
  }, 600_000);

  test(`${mode}: auditoria's chain verifies over the whole audit log`, async () => {
    await p.quiet();
    const r = await c.auditoria.verifyChain({}, staff);
    expect(r.intact).toBe(true);
    expect(Number(r.checked)).toBeGreaterThan(p.recorded.length / 2);
  }, 60_000);

  test(`${mode}: replaying every message the bus carried changes no business table`, async () => {
    await p.quiet();
    const before = await p.snapshot();
    const messages = [...p.recorded];
    expect(messages.length).toBeGreaterThan(100);
    await p.republish(messages);
    await p.quiet(60_000);
    expect(await p.snapshot()).toEqual(before);
  }, 120_000);

  // KNOWN BUG: financeiro books a paid lance as an extra LANCE parcela but never amortises the cota's
  // future parcelas with it (DOMAIN.md §4: "it amortises future parcelas (default: the last ones
  // first)"; domain/percentual-ledger.ts amortizeLance exists but billing never calls it), so a cota
  // whose lance was paid is billed its full plan as well and pays more than 100 % of the fundo comum.
  test.fails(`${mode}: KNOWN BUG: a paid lance amortises the cota's parcelas, so no cota pays more than 100 % of the FC`, async () => {
    expect(state.lancesPagos.length).toBeGreaterThan(0);
    for (const cotaId of state.lancesPagos) {
      const { extrato } = await c.extrato.getExtrato({ cotaId }, staff);
      console.info(`lance paid, cota ${cotaId}: FC paid ${extrato?.fundoComumPagoPercentual} %`);
      expect(extrato?.fundoComumPagoPercentual).toBe("100");
    }
  });
}
