// The partners' OpenAPI carries the contracts' field behaviour: OUTPUT_ONLY is readOnly
// everywhere, IDENTIFIER is readOnly in a Create's body only (AIP-203), REQUIRED is required.
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { SHIPPED_MODULE } from "./buf.ts";
import { openApiForModule } from "./openapi.ts";

type Schema = {
  $ref?: string;
  readOnly?: boolean;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
};
type Doc = {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: { "application/json": { schema: Schema } } } }>
  >;
  components: { schemas: Record<string, Schema> };
};

describe("field behaviour in the OpenAPI", () => {
  test("a Create's body makes IDENTIFIER fields read-only; the Update and the responses keep them", async () => {
    const doc = parse(await openApiForModule(SHIPPED_MODULE)) as Doc;
    const body = (path: string, method: string) =>
      doc.paths[path]?.[method]?.requestBody?.content["application/json"].schema as Schema;

    const create = body("/v1/consorciados", "post");
    expect(create.$ref).toBeUndefined();
    expect(create.properties?.id?.readOnly).toBe(true);
    expect(create.properties?.version?.readOnly).toBe(true);
    expect(create.properties?.status?.readOnly).toBe(true);
    expect(create.properties?.email?.readOnly).toBeUndefined();
    expect(create.required).toEqual(["tipo"]);

    expect(body("/v1/consorciados/{consorciado.id}", "patch").$ref).toBe(
      "#/components/schemas/consorcio.consorciados.v1.Consorciado",
    );
    const resource = doc.components.schemas["consorcio.consorciados.v1.Consorciado"] as Schema;
    expect(resource.properties?.id?.readOnly).toBeUndefined();
    expect(resource.properties?.version?.readOnly).toBeUndefined();
    expect(resource.properties?.id?.description).toContain("Identifier: assigned by the service in a create");
    expect(resource.properties?.createTime?.readOnly).toBe(true);
    expect(resource.properties?.status?.readOnly).toBe(true);
  }, 60_000);
});
