import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));

test("a bad setting stops start-up with one clear message per problem", async () => {
  const result = await promisify(execFile)(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: "mysql://somewhere/db",
      ACCESS_TOKEN_TTL_SECONDS: "forever",
    },
  }).then(
    () => ({ code: 0, stderr: "" }),
    (error: { code: number; stderr: string }) => error,
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("invalid configuration for identidade");
  expect(result.stderr).toMatch(/DATABASE_URL: /);
  expect(result.stderr).toMatch(/IDENTIDADE_SECRET_KEY: /);
  expect(result.stderr).toMatch(/ACCESS_TOKEN_TTL_SECONDS: /);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
});
