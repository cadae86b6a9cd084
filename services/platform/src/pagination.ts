import { InvalidArgumentError } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Opaque page token for lists ordered by UUIDv7 id: the last id of the page. */
export function encodePageToken(lastId: string | undefined): string {
  return lastId ? Buffer.from(lastId).toString("base64url") : "";
}

export function decodePageToken(token: string): string | undefined {
  if (!token) return undefined;
  const id = Buffer.from(token, "base64url").toString("utf8");
  if (!UUID.test(id))
    throw new InvalidArgumentError([
      { field: "page_token", ruleId: "page_token.invalid", message: "invalid page token" },
    ]);
  return id;
}

/** Fetch `pageSize + 1` rows; this cuts the page and says whether there is a next one. */
export function page<T extends { id: string }>(
  rows: readonly T[],
  pageSize: number,
): { items: T[]; nextPageToken: string } {
  const items = rows.slice(0, pageSize);
  return { items, nextPageToken: rows.length > pageSize ? encodePageToken(items.at(-1)?.id) : "" };
}
