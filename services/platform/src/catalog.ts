// The services of the platform and their fixed ports (DESIGN.md §8): the same in
// every mode, so docs, scripts, Envoy, Helm and clients agree.
export const SERVICE_PORTS = {
  identidade: 7001,
  consorciados: 7002,
  grupos: 7003,
  financeiro: 7004,
  sorteios: 7005,
  documentos: 7006,
  relatorios: 7007,
  notificacoes: 7008,
  auditoria: 7009,
  configuracao: 7010,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

export const SERVICE_NAMES = Object.keys(SERVICE_PORTS) as ServiceName[];

export const REST_GATEWAY_PORT = 8080;
/** Embedded PostgreSQL of `npm start`: never the standard 5432 a real server may hold. */
export const EMBEDDED_POSTGRES_PORT = 7432;

/** Database (and role) name of a service. */
export function databaseName(service: string): string {
  return `consorcio_${service}`;
}
