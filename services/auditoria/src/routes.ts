import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import { decodeCursor, encodeCursor, type ServiceContext } from "@consorcio/platform";
import * as auditLog from "./app/audit-log.ts";
import { concurrencyLimit } from "./limit.ts";
import { toMessage } from "./mapping.ts";

/** Reads of the log running at once; each holds up to a batch of records (audit-log.ts). */
const READS_AT_ONCE = 2;
/** The cursor inside a page token: the last seq of the page (range checked by auditLog.list). */
const SEQ = /^[0-9]{1,19}$/;

export function routes(router: ConnectRouter, { db }: ServiceContext): void {
  const reads = concurrencyLimit(READS_AT_ONCE);
  router.service(AuditoriaService, {
    async listAuditRecords(req, { signal }) {
      const pageToken = decodeCursor(req.pageToken, SEQ) ?? "";
      const { records, nextPageToken } = await reads(
        () =>
          auditLog.list(db.fork(), {
            ...req,
            pageToken,
            ...(req.fromTime ? { from: timestampDate(req.fromTime) } : {}),
            ...(req.toTime ? { to: timestampDate(req.toTime) } : {}),
          }),
        signal,
      );
      return { records: records.map(toMessage), nextPageToken: encodeCursor(nextPageToken) };
    },
    async verifyChain(req, { signal }) {
      const result = await reads(
        () => auditLog.verify(db.fork(), req.fromSeq, req.toSeq > 0n ? req.toSeq : undefined, signal),
        signal,
      );
      return {
        intact: result.firstBroken === undefined,
        checked: BigInt(result.checked),
        firstBrokenSeq: BigInt(result.firstBroken ?? 0),
        detail: result.detail ?? "",
      };
    },
  });
}
