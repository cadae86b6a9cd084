// A valid grupo, as the domain and as the contract write it.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type Grupo,
  GrupoSchema,
  Indice,
  Segmento,
  TipoLance,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import type { ParametrosEntrada } from "../src/domain/parametros.ts";

export function parametrosValidos(overrides: Partial<ParametrosEntrada> = {}): ParametrosEntrada {
  return {
    codigo: "IM-0042",
    nome: "Imóveis 42",
    segmento: "IMOVEL",
    bem: { descricao: "Apartamento de referência", codigo: "", precoCentavos: 30_000_000n },
    prazoMeses: 60,
    quantidadeCotas: 100,
    taxaAdministracao: "15",
    fundoReserva: "2",
    seguroMensal: "",
    taxaAntecipada: null,
    indice: "INCC",
    diaVencimento: 9,
    primeiraAssembleia: { year: 2027, month: 1, day: 21 },
    regrasLance: {
      tipos: ["LIVRE", "EMBUTIDO"],
      minimoLivre: "",
      fixo: "",
      maximoEmbutido: "",
      prazoPagamentoDiasUteis: 0,
    },
    regrasSorteio: { extracao: undefined, premios: 0, candidatosDeslocados: true, sorteioExcluidos: true },
    contemplacoesPorAssembleia: 0,
    parcelasAtrasoExclusao: 0,
    encargos: { multa: "", jurosMensal: "", grupo: "" },
    penalidadeRestituicao: "",
    fundoComumMensal: [],
    ...overrides,
  };
}

let sequence = 0;

/** A grupo message for CreateGrupo: codigo unique per call. */
export function grupoMessage(overrides: Exclude<MessageInitShape<typeof GrupoSchema>, Grupo> = {}): Grupo {
  sequence++;
  return create(GrupoSchema, {
    codigo: `T${process.pid % 1000}-${Date.now() % 100000}-${sequence}`,
    nome: "Grupo de teste",
    segmento: Segmento.IMOVEL,
    bem: { descricao: "Apartamento de referência", precoCentavos: 30_000_000n },
    prazoMeses: 12,
    quantidadeCotas: 100,
    percentualTaxaAdministracao: "15",
    percentualFundoReserva: "2",
    indice: Indice.INCC,
    diaVencimento: 9,
    primeiraAssembleia: { year: 2027, month: 1, day: 21 },
    regrasLance: { tiposPermitidos: [TipoLance.LIVRE, TipoLance.FIXO], percentualFixo: "30" },
    ...overrides,
  });
}
