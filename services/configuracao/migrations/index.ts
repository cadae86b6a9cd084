// configuracao's migrations, in order after the platform's; names are stable once released.
import type { MigrationEntry } from "@consorcio/platform";
import { InitialSchema } from "./0001_configuracao.ts";

export const migrations: MigrationEntry[] = [{ name: "0001_configuracao", class: InitialSchema }];
