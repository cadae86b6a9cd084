import { InvalidArgumentError } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function invalidToken(): InvalidArgumentError {
  return new InvalidArgumentError([
    { field: "page_token", ruleId: "page_token.invalid", message: "invalid page token" },
  ]);
}

/** Opaque page token over a cursor (an id, a seq): clients pass it back, never build or read it. */
export function encodeCursor(cursor: string | undefined): string {
  return cursor ? Buffer.from(cursor).toString("base64url") : "";
}

/** The cursor of a token from encodeCursor; `valid` is what such a cursor looks like. */
export function decodeCursor(token: string, valid: RegExp): string | undefined {
  if (!token) return undefined;
  const cursor = Buffer.from(token, "base64url").toString("utf8");
  if (!valid.test(cursor)) throw invalidToken();
  return cursor;
}

/** Opaque page token for lists ordered by UUIDv7 id: the last id of the page. */
export function encodePageToken(lastId: string | undefined): string {
  return encodeCursor(lastId);
}

export function decodePageToken(token: string): string | undefined {
  return decodeCursor(token, UUID);
}

/** Fetch `pageSize + 1` rows; this cuts the page and says whether there is a next one. */
export function page<T extends { id: string }>(
  rows: readonly T[],
  pageSize: number,
): { items: T[]; nextPageToken: string } {
  const items = rows.slice(0, pageSize);
  return { items, nextPageToken: rows.length > pageSize ? encodePageToken(items.at(-1)?.id) : "" };
}
