// The apuração of an assembleia (DOMAIN.md §4): order, money rule, audit record. Pure and
// deterministic: the same input (kept as canonical JSON with its hash) gives the same result.
import { type Dec, percentOf } from "@consorcio/domain";
import { canonicalJson, sha256Hex } from "./canonico.ts";
import {
  classificarLances,
  distancia,
  type LanceOfertado,
  percentualDe,
  type RegrasLance,
  recusaLance,
  type TipoLance,
} from "./lances.ts";
import { digitos, type RegraSorteio, type Sorteio, sortear, span } from "./sorteio.ts";

export const REGRA = "loteria-federal-padrao/v1";

/** Everything an apuração depends on; JSON-native (centavos and percentages as text). */
export interface EntradaApuracao {
  regra: typeof REGRA;
  assembleiaId: string;
  grupoId: string;
  extracao: { numero: number; data: string; premios: string[] };
  quantidadeCotas: number;
  regraSorteio: RegraSorteio;
  /** Hold the sorteio among excluded cotas for restitution (Lei art. 22 §2). */
  sorteioExcluidos: boolean;
  contemplacoesPlanejadas: number;
  creditoCentavos: string;
  fundoComumCentavos: string;
  fundoReservaCentavos: string;
  /** ATIVA and not contemplated, ascending. */
  cotasElegiveis: number[];
  /** EXCLUIDA and not yet drawn for restitution, ascending. */
  cotasExcluidas: number[];
  /** Refund of excluded cotas, known for the one the draw picks. */
  restituicoes: { cota: number; valorCentavos: string }[];
  regrasLance: {
    tiposPermitidos: TipoLance[];
    minimoLivre: string;
    fixo: string;
    maximoEmbutido: string;
  };
  /** One per cota, ascending by cota. */
  lances: { cota: number; tipo: TipoLance; percentual: string; embutido: string }[];
}

export type Modalidade = "SORTEIO" | "RESTITUICAO" | "LANCE_FIXO" | "LANCE_LIVRE";

export interface ContemplacaoApurada {
  ordem: number;
  cota: number;
  modalidade: Modalidade;
  creditoCentavos: bigint;
  lanceCentavos: bigint;
  embutidoCentavos: bigint;
  /** What the grupo's cash pays: credit, credit − lance, or the refund. */
  custoCentavos: bigint;
  percentual: string;
}

export interface LanceClassificado {
  posicao: number;
  cota: number;
  tipo: TipoLance;
  percentual: string;
  embutido: string;
  distancia: number;
  contemplado: boolean;
  motivo: string;
}

export interface ResultadoApuracao {
  digitos: number;
  span: number;
  sorteio: Sorteio;
  restituicao?: Sorteio | undefined;
  lances: LanceClassificado[];
  contemplacoes: ContemplacaoApurada[];
  saldoFundoComumCentavos: bigint;
  saldoFundoReservaCentavos: bigint;
  notas: string[];
}

export const MOTIVO_LANCE = {
  jaContemplada: "cota já contemplada nesta assembleia",
  inelegivel: "cota inelegível",
  semCaixa: "sem caixa",
} as const;

export function regrasDe(entrada: EntradaApuracao): RegrasLance {
  const r = entrada.regrasLance;
  return {
    tiposPermitidos: r.tiposPermitidos,
    minimoLivre: percentualDe(r.minimoLivre),
    fixo: r.fixo === "" ? undefined : percentualDe(r.fixo),
    maximoEmbutido: percentualDe(r.maximoEmbutido),
  };
}

/** The draw among the excluded pool alone: the service learns which refund to ask for. */
export function sortearRestituicao(entrada: EntradaApuracao): number | undefined {
  if (!entrada.sorteioExcluidos || entrada.cotasExcluidas.length === 0) return undefined;
  const pool = new Set(entrada.cotasExcluidas);
  const sorteio = sortear(
    entrada.quantidadeCotas,
    entrada.extracao.premios,
    (c) => pool.has(c),
    1,
    entrada.regraSorteio,
  );
  return sorteio.sorteadas[0];
}

/** (1) sorteio, FR topping up FC; (2) restitution; (3) lance fixo; (4) lance livre; while cash lasts. */
export function apurar(entrada: EntradaApuracao): ResultadoApuracao {
  const n = entrada.quantidadeCotas;
  const premios = entrada.extracao.premios;
  const credito = BigInt(entrada.creditoCentavos);
  let fc = BigInt(entrada.fundoComumCentavos);
  let fr = BigInt(entrada.fundoReservaCentavos);
  const notas: string[] = [];
  const contemplacoes: ContemplacaoApurada[] = [];
  const contempladas = new Set<number>();
  const elegiveis = new Set(entrada.cotasElegiveis);
  const contemplar = (c: Omit<ContemplacaoApurada, "ordem">) => {
    contemplacoes.push({ ...c, ordem: contemplacoes.length + 1 });
    contempladas.add(c.cota);
  };

  // (1) As many as planned and as the cash (FC, then FR) pays for.
  const pagaveis = credito > 0n ? (fc + fr) / credito : 0n;
  const planejadas = Math.max(0, entrada.contemplacoesPlanejadas);
  const quantidade = Number(pagaveis < BigInt(planejadas) ? pagaveis : BigInt(planejadas));
  if (quantidade < planejadas)
    notas.push(`sorteio: ${quantidade} de ${planejadas} planejadas (caixa para ${pagaveis})`);
  const sorteio = sortear(n, premios, (c) => elegiveis.has(c), quantidade, entrada.regraSorteio);
  if (sorteio.numeroBase === 0) notas.push("sorteio: nenhum candidato válido, sem número base");
  else if (sorteio.sorteadas.length < quantidade) notas.push("sorteio: cotas elegíveis insuficientes");
  for (const cota of sorteio.sorteadas) {
    const doFc = fc >= credito ? credito : fc;
    fc -= doFc;
    fr -= credito - doFc;
    if (doFc < credito) notas.push(`sorteio: fundo de reserva cobriu ${credito - doFc} centavos`);
    contemplar({
      cota,
      modalidade: "SORTEIO",
      creditoCentavos: credito,
      lanceCentavos: 0n,
      embutidoCentavos: 0n,
      custoCentavos: credito,
      percentual: "",
    });
  }

  // (2) Restitution to one excluded cota, if the fundo comum still pays its refund.
  let restituicao: Sorteio | undefined;
  if (entrada.sorteioExcluidos && entrada.cotasExcluidas.length > 0) {
    const pool = new Set(entrada.cotasExcluidas);
    restituicao = sortear(n, premios, (c) => pool.has(c), 1, entrada.regraSorteio);
    const cota = restituicao.sorteadas[0];
    const valor = entrada.restituicoes.find((r) => r.cota === cota)?.valorCentavos;
    if (cota === undefined) notas.push("restituição: nenhuma cota excluída sorteada");
    else if (valor === undefined) notas.push(`restituição: valor da cota ${cota} desconhecido`);
    else if (BigInt(valor) > fc) notas.push(`restituição: sem caixa para a cota ${cota}`);
    else {
      fc -= BigInt(valor);
      contemplar({
        cota,
        modalidade: "RESTITUICAO",
        creditoCentavos: 0n,
        lanceCentavos: 0n,
        embutidoCentavos: 0n,
        custoCentavos: BigInt(valor),
        percentual: "",
      });
    }
  }

  // (3) and (4): lances in rank, each costing credit − lance, while the fundo comum pays.
  const regras = regrasDe(entrada);
  const base = sorteio.numeroBase;
  const ofertas = entrada.lances.map((l): LanceOfertado & { texto: (typeof entrada.lances)[number] } => ({
    cota: l.cota,
    tipo: l.tipo,
    percentual: percentualDe(l.percentual),
    embutido: percentualDe(l.embutido),
    texto: l,
  }));
  const esgotado = new Set<"FIXO" | "LIVRE">();
  const lances = classificarLances(ofertas, base).map((oferta, i): LanceClassificado => {
    const linha = {
      posicao: i + 1,
      cota: oferta.cota,
      tipo: oferta.tipo,
      percentual: oferta.texto.percentual,
      embutido: oferta.texto.embutido,
      distancia: distancia(oferta.cota, base),
      contemplado: false,
      motivo: "",
    };
    if (contempladas.has(oferta.cota)) return { ...linha, motivo: MOTIVO_LANCE.jaContemplada };
    if (!elegiveis.has(oferta.cota)) return { ...linha, motivo: MOTIVO_LANCE.inelegivel };
    const recusa = recusaLance(regras, oferta);
    if (recusa) return { ...linha, motivo: recusa };
    // Along each class the cost never falls (fixos alike, livres by percentage, highest first):
    // once one is unaffordable, so is every later one, with no arithmetic.
    const classe = oferta.tipo === "FIXO" ? "FIXO" : "LIVRE";
    if (esgotado.has(classe)) return { ...linha, motivo: MOTIVO_LANCE.semCaixa };
    const valores = valoresDoLance(credito, oferta.percentual, oferta.embutido);
    if (valores.custoCentavos > fc) {
      esgotado.add(classe);
      return { ...linha, motivo: MOTIVO_LANCE.semCaixa };
    }
    fc -= valores.custoCentavos;
    contemplar({
      cota: oferta.cota,
      modalidade: oferta.tipo === "FIXO" ? "LANCE_FIXO" : "LANCE_LIVRE",
      ...valores,
      percentual: oferta.texto.percentual,
    });
    return { ...linha, contemplado: true };
  });

  return {
    digitos: digitos(n),
    span: span(n),
    sorteio,
    restituicao,
    lances,
    contemplacoes,
    saldoFundoComumCentavos: fc,
    saldoFundoReservaCentavos: fr,
    notas,
  };
}

export function valoresDoLance(credito: bigint, percentual: Dec, embutido: Dec) {
  const lanceCentavos = percentOf(credito, percentual);
  return {
    creditoCentavos: credito,
    lanceCentavos,
    embutidoCentavos: percentOf(credito, embutido),
    custoCentavos: credito - lanceCentavos,
  };
}

export function hashEntrada(entrada: EntradaApuracao): { json: string; sha256: string } {
  const json = canonicalJson(entrada);
  return { json, sha256: sha256Hex(json) };
}

/** The hash of what the apuração decided (candidates, ranking, winners, balances). */
export function hashResultado(resultado: ResultadoApuracao): string {
  return sha256Hex(canonicalJson(resultado));
}

/**
 * Compensation after a cancelled lance: the next lance in the stored rank that lost only for
 * want of cash, whose cota is not contemplated, and that the cash now left pays for.
 */
export function proximoLance(
  entrada: EntradaApuracao,
  resultado: Pick<ResultadoApuracao, "lances">,
  indisponiveis: ReadonlySet<number>,
  saldoCentavos: bigint,
): (ContemplacaoApurada & { posicao: number }) | undefined {
  const credito = BigInt(entrada.creditoCentavos);
  for (const lance of resultado.lances) {
    if (lance.contemplado || lance.motivo !== MOTIVO_LANCE.semCaixa || indisponiveis.has(lance.cota))
      continue;
    const valores = valoresDoLance(credito, percentualDe(lance.percentual), percentualDe(lance.embutido));
    if (valores.custoCentavos > saldoCentavos) continue;
    return {
      ordem: 0,
      posicao: lance.posicao,
      cota: lance.cota,
      modalidade: lance.tipo === "FIXO" ? "LANCE_FIXO" : "LANCE_LIVRE",
      ...valores,
      percentual: lance.percentual,
    };
  }
  return undefined;
}
