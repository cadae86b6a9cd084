// When an assembleia's lance window is open: from `aberturaDias` before the assembleia up to the
// cut-off `encerramentoDias` before it (0: the window closes on the assembleia's day). Civil
// dates in the administradora's calendar; pure.
import { addDays, compareDates, parseIsoDate } from "@consorcio/domain";

export interface JanelaLances {
  /** Calendar days before the assembleia the window opens. */
  aberturaDias: number;
  /** Calendar days before the assembleia the window closes (lances from that day on are refused). */
  encerramentoDias: number;
}

export type FaseJanela = "ANTES" | "ABERTA" | "ENCERRADA";

/** The phase of the window of an assembleia on `data` (YYYY-MM-DD) seen on `hoje` (YYYY-MM-DD). */
export function faseJanela(janela: JanelaLances, data: string, hoje: string): FaseJanela {
  const assembleia = parseIsoDate(data);
  const dia = parseIsoDate(hoje);
  if (compareDates(dia, addDays(assembleia, -janela.encerramentoDias)) >= 0) return "ENCERRADA";
  if (compareDates(dia, addDays(assembleia, -janela.aberturaDias)) >= 0) return "ABERTA";
  return "ANTES";
}
