import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { ownerFieldValue } from "../src/auth.ts";
import { WidgetSchema } from "./gen/consorcio/platformtest/v1/widget_pb.js";
import {
  CreateWidgetResponseSchema,
  GetWidgetRequestSchema,
} from "./gen/consorcio/platformtest/v1/widget_service_pb.js";

describe("owner_field paths", () => {
  test("a top-level field", () => {
    const request = create(GetWidgetRequestSchema, { ownerId: "c-1" });
    expect(ownerFieldValue(GetWidgetRequestSchema, request, "owner_id")).toBe("c-1");
  });

  test("a nested path follows each message field", () => {
    const message = create(CreateWidgetResponseSchema, {
      widget: create(WidgetSchema, { ownerId: "c-2" }),
    });
    expect(ownerFieldValue(CreateWidgetResponseSchema, message, "widget.owner_id")).toBe("c-2");
  });

  test("an unset message on the path, or an unknown field, is no owner", () => {
    const empty = create(CreateWidgetResponseSchema, {});
    expect(ownerFieldValue(CreateWidgetResponseSchema, empty, "widget.owner_id")).toBeUndefined();
    const request = create(GetWidgetRequestSchema, { ownerId: "c-1" });
    expect(ownerFieldValue(GetWidgetRequestSchema, request, "ownerId")).toBeUndefined();
    expect(ownerFieldValue(GetWidgetRequestSchema, request, "owner_id.x")).toBeUndefined();
  });
});
