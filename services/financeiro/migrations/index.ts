// financeiro's migrations, in order after the platform's; names are stable once released.
import type { MigrationEntry } from "@consorcio/platform";
import { InitialSchema } from "./0001_financeiro.ts";
import { RemessaSequence } from "./0002_remessa.ts";
import { BulkLedger } from "./0003_bulk.ts";
import { BaixaMultaSuspense } from "./0004_baixa.ts";
import { BulkForeignKeys } from "./0005_bulk_fks.ts";

export const migrations: MigrationEntry[] = [
  { name: "0001_financeiro", class: InitialSchema },
  { name: "0002_remessa", class: RemessaSequence },
  { name: "0003_bulk", class: BulkLedger },
  { name: "0004_baixa", class: BaixaMultaSuspense },
  { name: "0005_bulk_fks", class: BulkForeignKeys },
];
