// The lance window by the clock: a job opens AGENDADA assembleias `aberturaDias` before their
// date and closes the window at the cut-off. Each change is one conditional UPDATE over rows
// claimed with SKIP LOCKED, bumping the version: replicas running at once, a manual
// AbrirLances/EncerrarLances in flight, or a rerun change each assembleia once.
import { addDays, isoDate, parseIsoDate } from "@consorcio/domain";
import type { Transactions } from "@consorcio/platform";
import { hojeEmSaoPaulo } from "./assembleias.ts";
import type { JanelaLances } from "./domain/janela.ts";

export class JanelaUseCases {
  private readonly janela: JanelaLances;

  constructor(janela: JanelaLances) {
    this.janela = janela;
  }

  /** Opens and closes what the date calls for; returns the ids opened and closed. */
  async run(tx: Transactions, now: Date): Promise<{ abertas: string[]; encerradas: string[] }> {
    const hoje = parseIsoDate(hojeEmSaoPaulo(now));
    // The window of an assembleia on `data` is open from data − abertura and closed from data − encerramento.
    const abreAte = isoDate(addDays(hoje, this.janela.aberturaDias));
    const encerraAte = isoDate(addDays(hoje, this.janela.encerramentoDias));
    return tx.job(async (uow) => {
      // One whose cut-off passed before the job saw it opens already closed, so it can be apurada.
      const abertas = await uow.em.execute<{ id: string }[]>(
        `update assembleia set status = 'ABERTA_PARA_LANCES', version = version + 1, updated_at = ?,
           lances_encerrados_at = case when data <= ? then ?::timestamptz else null end
         where status = 'AGENDADA' and id in (
           select id from assembleia where status = 'AGENDADA' and data <= ? for update skip locked)
         returning id`,
        [now, encerraAte, now, abreAte],
      );
      const encerradas = await uow.em.execute<{ id: string }[]>(
        `update assembleia set lances_encerrados_at = ?, version = version + 1, updated_at = ?
         where status = 'ABERTA_PARA_LANCES' and lances_encerrados_at is null and id in (
           select id from assembleia where status = 'ABERTA_PARA_LANCES' and lances_encerrados_at is null
             and data <= ? for update skip locked)
         returning id`,
        [now, now, encerraAte],
      );
      return { abertas: abertas.map((r) => r.id), encerradas: encerradas.map((r) => r.id) };
    });
  }
}
