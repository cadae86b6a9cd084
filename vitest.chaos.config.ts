import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["services/**/test/**/*.chaos.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    env: { LOG_LEVEL: "silent" },
  },
});
