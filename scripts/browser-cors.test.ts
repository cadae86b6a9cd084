// Browsers on other origins (CORS): a page served from one origin calls identidade with
// connect-web, over the Connect protocol and gRPC-Web, and the REST gateway with fetch, in
// headless Chromium (Debian's chromium driven by playwright-core). A page on an origin not in
// CORS_ALLOWED_ORIGINS is refused by the browser itself.
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@consorcio/platform/logging.ts";
import {
  loadDescriptorSet,
  type RunningRestGateway,
  startRestGateway,
} from "@consorcio/platform/rest-gateway.ts";
import { startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { type Browser, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service as identidadeService } from "../services/identidade/src/service.ts";
import type { Outcome } from "./testdata/browser/client.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const ADMIN_PASSWORD = `senha-do-admin-${randomUUID()}`;

let bundleDir: string;
let allowedPage: { server: Server; origin: string };
let refusedPage: { server: Server; origin: string };
let identidade: TestService;
let gateway: RunningRestGateway;
let browser: Browser;

/** Serves the page and its bundled script on a port of its own: an origin of its own. */
async function servePage(): Promise<{ server: Server; origin: string }> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>consorcio</title><script type="module" src="/client.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(readFileSync(join(bundleDir, "client.js")));
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(html);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  bundleDir = mkdtempSync(join(tmpdir(), "consorcio-browser-"));
  await build({
    configFile: false,
    logLevel: "silent",
    root,
    build: {
      outDir: bundleDir,
      emptyOutDir: true,
      minify: false,
      lib: {
        entry: join(root, "scripts/testdata/browser/client.ts"),
        formats: ["es"],
        fileName: () => "client.js",
      },
    },
  });
  allowedPage = await servePage();
  refusedPage = await servePage();
  identidade = await startTestService(identidadeService, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
    CORS_ALLOWED_ORIGINS: allowedPage.origin,
  });
  gateway = await startRestGateway({
    host: "127.0.0.1",
    port: 0,
    registry: loadDescriptorSet(`${root}envoy/descriptor.binpb`),
    logger: createLogger({ service: "rest-gateway", level: "silent" }),
    corsOrigins: [allowedPage.origin],
    upstreams: [
      { baseUrl: identidade.service.url, services: identidadeService.services.map((desc) => desc.typeName) },
    ],
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await identidade?.stop();
  for (const page of [allowedPage, refusedPage]) await new Promise((resolve) => page?.server.close(resolve));
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

type Client = {
  loginAndList(baseUrl: string, protocol: string, username: string, password: string): Promise<Outcome>;
  restLoginAndList(gatewayUrl: string, username: string, password: string): Promise<Outcome>;
};

async function openPage(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => "consorcio" in globalThis);
  return page;
}

/** Calls a function of the page's bundle with these arguments, in the page. */
const inPage = (page: Page, method: keyof Client, ...args: string[]) =>
  page.evaluate(
    ([name, values]) => {
      const client = (
        globalThis as unknown as { consorcio: Record<string, (...a: string[]) => Promise<Outcome>> }
      ).consorcio;
      return client[name]?.(...values) as Promise<Outcome>;
    },
    [method, args] as const,
  );

describe("browsers on other origins", () => {
  test("an allowed origin logs in and calls with the token over Connect and gRPC-Web, and over REST", async () => {
    const page = await openPage(allowedPage.origin);
    try {
      for (const protocol of ["connect", "grpc-web"]) {
        const outcome = await inPage(
          page,
          "loginAndList",
          identidade.service.url,
          protocol,
          "admin",
          ADMIN_PASSWORD,
        );
        expect(outcome, protocol).toMatchObject({ usernames: expect.arrayContaining(["admin"]) });
        // Exposed by the CORS response headers, so the page can read it.
        expect(outcome.requestId, protocol).toMatch(/^[0-9a-f-]{36}$/);
      }
      const rest = await inPage(page, "restLoginAndList", gateway.url, "admin", ADMIN_PASSWORD);
      expect(rest).toMatchObject({ usernames: expect.arrayContaining(["admin"]) });
      expect(rest.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await page.close();
    }
  });

  test("an origin not allowed is refused by the browser, on the service and on the gateway", async () => {
    const page = await openPage(refusedPage.origin);
    const refusals: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") refusals.push(message.text());
    });
    try {
      for (const protocol of ["connect", "grpc-web"]) {
        const outcome = await inPage(
          page,
          "loginAndList",
          identidade.service.url,
          protocol,
          "admin",
          ADMIN_PASSWORD,
        );
        expect(outcome.usernames, protocol).toBeUndefined();
        expect(outcome.error, protocol).toContain("Failed to fetch");
      }
      const rest = await inPage(page, "restLoginAndList", gateway.url, "admin", ADMIN_PASSWORD);
      expect(rest.error).toContain("Failed to fetch");
      expect(refusals.some((text) => text.includes("CORS policy"))).toBe(true);
    } finally {
      await page.close();
    }
  });
});
