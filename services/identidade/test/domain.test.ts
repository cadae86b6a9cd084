import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  accountViolations,
  grantedScopes,
  holdSeconds,
  passwordViolations,
  rolesViolations,
} from "../src/domain/accounts.ts";
import { decideRefresh } from "../src/domain/refresh.ts";
import { sourceOf } from "../src/domain/source.ts";

const now = new Date("2026-11-28T12:00:00Z");
const later = new Date(now.getTime() + 60_000);

describe("refresh decisions", () => {
  test("a fresh, unused token rotates", () => {
    expect(decideRefresh({ expiresAt: later, usedAt: null, revokedAt: null }, now)).toBe("rotate");
  });
  test("a spent token is a reuse, whatever its expiry", () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (expiresAt) => {
        expect(decideRefresh({ expiresAt, usedAt: now, revokedAt: null }, now)).toBe("reuse");
      }),
    );
  });
  test("revocation wins over everything", () => {
    expect(decideRefresh({ expiresAt: later, usedAt: now, revokedAt: now }, now)).toBe("revoked");
  });
  test("a token expiring now is expired", () => {
    expect(decideRefresh({ expiresAt: now, usedAt: null, revokedAt: null }, now)).toBe("expired");
  });
});

describe("account rules", () => {
  test("staff may not hold consorciado, partner or service roles, and vice versa", () => {
    expect(rolesViolations("STAFF", ["ADMIN", "AUDITOR"])).toEqual([]);
    expect(rolesViolations("STAFF", ["ADMIN", "CONSORCIADO"])).toHaveLength(1);
    expect(rolesViolations("PARCEIRO", ["ADMIN"])).toHaveLength(1);
    expect(rolesViolations("SERVICE", ["SERVICE"])).toEqual([]);
  });
  test("passwords: length, not the username, some variety", () => {
    expect(passwordViolations("curta", "ana")[0]?.ruleId).toBe("password.min_len");
    expect(passwordViolations("xx-maria.silva-xx", "maria.silva")[0]?.ruleId).toBe("password.username");
    expect(passwordViolations("aaaaaaaaaaaaaaaa", "ana")[0]?.ruleId).toBe("password.variety");
    expect(passwordViolations("cavalo correto bateria", "ana")).toEqual([]);
  });
  test("consorciado accounts need their consorciado; clients take no password", () => {
    const base = {
      username: "u",
      roles: [] as const,
      password: "",
      consorciadoId: "",
      scopes: [] as string[],
    };
    const fields = (v: { field: string }[]) => v.map((x) => x.field);
    expect(
      fields(
        accountViolations({
          ...base,
          kind: "CONSORCIADO",
          roles: ["CONSORCIADO"],
          password: "senha bem longa 1",
        }),
      ),
    ).toEqual(["consorciado_id"]);
    expect(
      fields(accountViolations({ ...base, kind: "PARCEIRO", roles: ["PARCEIRO"], password: "x" })),
    ).toEqual(["password"]);
    expect(
      fields(
        accountViolations({
          ...base,
          kind: "STAFF",
          roles: ["ADMIN"],
          password: "senha bem longa 1",
          scopes: ["a"],
        }),
      ),
    ).toEqual(["scopes"]);
  });
  test("a source is held back from the limit on, twice as long each failure, up to the maximum", () => {
    const policy = { maxFailures: 5, holdSeconds: 30, maxSeconds: 900 };
    expect([4, 5, 6, 7, 9, 10, 1000].map((failures) => holdSeconds(failures, policy))).toEqual([
      0, 30, 60, 120, 480, 900, 900,
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (failures) => {
        const hold = holdSeconds(failures, policy);
        expect(hold).toBeLessThanOrEqual(policy.maxSeconds);
        expect(holdSeconds(failures + 1, policy)).toBeGreaterThanOrEqual(hold);
      }),
    );
  });
  test("scopes: empty request means all granted; anything not granted is invalid", () => {
    expect(grantedScopes("", ["a", "b"])).toEqual({ scopes: ["a", "b"] });
    expect(grantedScopes("a a", ["a", "b"])).toEqual({ scopes: ["a"] });
    expect(grantedScopes("a c", ["a", "b"])).toEqual({ invalid: ["c"] });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,5}$/)),
        fc.array(fc.stringMatching(/^[a-z]{1,5}$/)),
        (granted, asked) => {
          const result = grantedScopes(asked.join(" "), granted);
          if ("scopes" in result) expect(result.scopes.every((s) => granted.includes(s))).toBe(true);
          else expect(result.invalid.every((s) => !granted.includes(s))).toBe(true);
        },
      ),
    );
  });
});

describe("login sources", () => {
  test("an IPv6 /64 is one source; an IPv4-mapped address is its IPv4 one", () => {
    expect(sourceOf("2001:db8:1:2:3:4:5:6")).toBe(sourceOf("2001:0db8:0001:0002::9"));
    expect(sourceOf("2001:db8:1:2::1")).not.toBe(sourceOf("2001:db8:1:3::1"));
    expect(sourceOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(sourceOf("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(sourceOf("192.0.2.1")).toBe("192.0.2.1");
    expect(sourceOf(undefined)).toBe("unknown");
  });
});
