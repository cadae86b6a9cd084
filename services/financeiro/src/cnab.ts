// CNAB 240: retorno import (T/U segments, reconciled by nosso número, original file kept in
// object storage, a report per line) and remessa (P/Q/R) of a grupo's open boletos.
import type { ServiceImpl } from "@connectrpc/connect";
import type { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import type { ServiceContext } from "@consorcio/platform";
import type { Deps } from "./service.ts";

export function cnabImpl(_context: ServiceContext, _deps: Deps): Partial<ServiceImpl<typeof ParcelaService>> {
  return {};
}
