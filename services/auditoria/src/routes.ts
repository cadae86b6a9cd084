import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import type { ServiceContext } from "@consorcio/platform";
import * as auditLog from "./audit-log.ts";

export function routes(router: ConnectRouter, { db }: ServiceContext): void {
  router.service(AuditoriaService, {
    async listAuditRecords(req) {
      return auditLog.list(db.fork(), {
        ...req,
        ...(req.fromTime ? { from: timestampDate(req.fromTime) } : {}),
        ...(req.toTime ? { to: timestampDate(req.toTime) } : {}),
      });
    },
    async verifyChain(req) {
      const result = await auditLog.verify(db.fork(), req.fromSeq, req.toSeq > 0n ? req.toSeq : undefined);
      return {
        intact: result.firstBroken === undefined,
        checked: BigInt(result.checked),
        firstBrokenSeq: BigInt(result.firstBroken ?? 0),
        detail: result.detail ?? "",
      };
    },
  });
}
