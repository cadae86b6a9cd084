// The public simulator: the engine's plan and late charges, nothing stored.
import type { ServiceImpl } from "@connectrpc/connect";
import { Dec } from "@consorcio/domain";
import type { SimuladorService } from "@consorcio/gen/consorcio/financeiro/v1/simulador_service_pb.js";
import { calculateEncargos } from "./domain/encargos.ts";
import { simulatePlano, totalDoPlano } from "./domain/plano.ts";
import { civilFromProto, engine, percentual } from "./mapping.ts";

export const simuladorImpl: Partial<ServiceImpl<typeof SimuladorService>> = {
  simulatePlano(req) {
    const params = {
      precoCentavos: req.precoCentavos,
      prazoMeses: req.prazoMeses,
      taxaAdministracao: percentual(req.taxaAdministracaoPercentual, "taxa_administracao_percentual"),
      fundoReserva: percentual(req.fundoReservaPercentual, "fundo_reserva_percentual"),
      seguroMensal: percentual(req.seguroPercentual, "seguro_percentual", new Dec(0)),
    };
    const parcelas = engine(() => simulatePlano(params), {
      precoCentavos: "preco_centavos",
      prazoMeses: "prazo_meses",
      taxaAdministracao: "taxa_administracao_percentual",
      fundoReserva: "fundo_reserva_percentual",
      seguroMensal: "seguro_percentual",
    });
    return {
      parcelas: parcelas.map((p) => ({
        mes: p.mes,
        fundoComumCentavos: p.fundoComumCentavos,
        taxaAdministracaoCentavos: p.taxaAdministracaoCentavos + p.antecipacaoTaxaCentavos,
        fundoReservaCentavos: p.fundoReservaCentavos,
        seguroCentavos: p.seguroCentavos,
        totalCentavos: p.totalCentavos,
      })),
      totalCentavos: totalDoPlano(parcelas),
    };
  },
  calculateEncargos(req) {
    const encargos = engine(
      () =>
        calculateEncargos({
          valorCentavos: req.valorCentavos,
          vencimento: civilFromProto(req.vencimento, "vencimento"),
          pagamento: civilFromProto(req.pagamento, "pagamento"),
        }),
      { valorCentavos: "valor_centavos" },
    );
    return {
      diasAtraso: encargos.diasAtraso,
      multaCentavos: encargos.multaCentavos,
      jurosCentavos: encargos.jurosCentavos,
      totalCentavos: encargos.totalCentavos,
    };
  },
};
