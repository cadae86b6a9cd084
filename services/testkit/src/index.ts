// The test kit: the platform's harness, tokens for every role, data generators, the policy sweep.
export * from "@consorcio/platform/testing.ts";
export * from "./arbitraries.ts";
export * from "./roles.ts";
export * from "./sweep.ts";
