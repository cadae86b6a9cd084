// identidade's migrations, in order after the platform's; names are stable once released.
import type { MigrationEntry } from "@consorcio/platform";
import { InitialSchema } from "./0001_identidade.ts";
import { TotpLastStep } from "./0002_totp_last_step.ts";
import { LoginThrottleSchema } from "./0003_login_throttle.ts";

export const migrations: MigrationEntry[] = [
  { name: "0001_identidade", class: InitialSchema },
  { name: "0002_totp_last_step", class: TotpLastStep },
  { name: "0003_login_throttle", class: LoginThrottleSchema },
];
