// Where the services are and where the CLI keeps its credentials.
import { homedir } from "node:os";
import { join } from "node:path";
import { SERVICE_PORTS, type ServiceName } from "@consorcio/platform/catalog.ts";

/** The services the CLI talks to. */
export const CLI_SERVICES = ["identidade", "consorciados", "grupos", "financeiro", "sorteios"] as const;
export type CliService = (typeof CLI_SERVICES)[number] & ServiceName;

/**
 * A service's address: --url-<service>, else <SERVICE>_URL, else its catalog port on 127.0.0.1
 * shifted by CONSORCIO_PORT_OFFSET (as `npm start` binds them).
 */
export function serviceUrl(
  service: CliService,
  flags: Partial<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const flag = flags[`url${service[0]?.toUpperCase()}${service.slice(1)}`];
  if (flag) return flag;
  const fromEnv = env[`${service.toUpperCase()}_URL`];
  if (fromEnv) return fromEnv;
  const offset = Number(env.CONSORCIO_PORT_OFFSET ?? 0);
  return `http://127.0.0.1:${SERVICE_PORTS[service] + (Number.isInteger(offset) ? offset : 0)}`;
}

/** $CONSORCIO_CONFIG_DIR, else $XDG_CONFIG_HOME/consorcio, else ~/.config/consorcio. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONSORCIO_CONFIG_DIR) return env.CONSORCIO_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "consorcio");
}
