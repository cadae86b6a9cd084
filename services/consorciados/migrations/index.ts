// consorciados's migrations, in order after the platform's; names are stable once released.
import type { MigrationEntry } from "@consorcio/platform";
import { InitialSchema } from "./0001_consorciados.ts";
import { ParticipacaoGrupos } from "./0002_participacao_grupos.ts";

export const migrations: MigrationEntry[] = [
  { name: "0001_consorciados", class: InitialSchema },
  { name: "0002_participacao_grupos", class: ParticipacaoGrupos },
];
