import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["services/**/test/**/*.test.ts", "scripts/**/*.test.ts"],
    // Tests that stop shared servers (RabbitMQ, Redis) run alone, after the others.
    exclude: ["**/node_modules/**", "**/*.chaos.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    env: { LOG_LEVEL: "silent" },
  },
});
