import { describe, expect, test } from "vitest";
import { matchPathTemplate, parsePathTemplate, TemplateSyntaxError } from "../src/path-template.ts";

const match = (template: string, path: string) => {
  const values = matchPathTemplate(parsePathTemplate(template), path);
  return values && Object.fromEntries(values);
};

describe("google.api.http path templates", () => {
  test("literals, single variables and nested field paths", () => {
    expect(match("/v1/grupos", "/v1/grupos")).toEqual({});
    expect(match("/v1/grupos", "/v1/grupos/x")).toBeUndefined();
    expect(match("/v1/grupos/{id}", "/v1/grupos/abc")).toEqual({ id: "abc" });
    expect(match("/v1/grupos/{id}", "/v1/grupos/")).toBeUndefined();
    expect(match("/v1/consorciados/{consorciado.id}", "/v1/consorciados/7")).toEqual({
      "consorciado.id": "7",
    });
    expect(match("/v1/grupos/{grupo_id}/cotas", "/v1/grupos/g%201/cotas")).toEqual({ grupo_id: "g 1" });
  });

  test("verbs after a literal or a variable", () => {
    expect(match("/v1/auth:login", "/v1/auth:login")).toEqual({});
    expect(match("/v1/auth:login", "/v1/auth:logout")).toBeUndefined();
    expect(match("/v1/auth:login", "/v1/auth")).toBeUndefined();
    expect(match("/v1/usuarios/{id}:unlock", "/v1/usuarios/u-1:unlock")).toEqual({ id: "u-1" });
    expect(match("/v1/usuarios/{id}:unlock", "/v1/usuarios/u-1")).toBeUndefined();
    expect(match("/v1/usuarios/{id}", "/v1/usuarios/u-1:unlock")).toEqual({ id: "u-1:unlock" });
    expect(parsePathTemplate("/v1/usuarios/{id}:unlock").verb).toBe("unlock");
  });

  test("{name=...} patterns with * and **", () => {
    expect(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b2")).toEqual({
      name: "shelves/s1/books/b2",
    });
    expect(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books")).toBeUndefined();
    expect(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/cds/b2")).toBeUndefined();
    expect(match("/v1/files/{path=**}", "/v1/files/a/b/c.txt")).toEqual({ path: "a/b/c.txt" });
    expect(match("/v1/files/{path=**}:get", "/v1/files/a/b:get")).toEqual({ path: "a/b" });
    expect(match("/v1/*/things/{id}", "/v1/any/things/9")).toEqual({ id: "9" });
    // An escaped slash inside a multi-segment value stays escaped (grpc-gateway).
    expect(match("/v1/{name=shelves/*}", "/v1/shelves/a%2Fb")).toEqual({ name: "shelves/a%2Fb" });
    expect(match("/v1/{id}", "/v1/a%2Fb")).toEqual({ id: "a/b" });
  });

  test("malformed escapes do not match; literals count for specificity", () => {
    expect(match("/v1/{id}", "/v1/%E0%A4%A")).toBeUndefined();
    expect(parsePathTemplate("/v1/grupos/{id}/cotas").literals).toBe(3);
    expect(parsePathTemplate("/v1/consorciados:search").literals).toBe(3);
  });

  test("bad templates are refused", () => {
    for (const bad of ["v1/x", "/v1/{id", "/v1/{a-b}", "/v1/{a}/{a}", "/v1/**/x/**", "/v1/{a={b}}", "/v1/x:"])
      expect(() => parsePathTemplate(bad), bad).toThrow(TemplateSyntaxError);
  });
});
