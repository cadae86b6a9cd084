import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createRegistry, type DescFile, type Registry } from "@bufbuild/protobuf";

/** Every contract of the platform, to read any event on the bus as JSON. */
export async function loadContractRegistry(): Promise<Registry> {
  const root = fileURLToPath(new URL("./consorcio/", import.meta.resolve("@consorcio/gen/package.json")));
  const files: DescFile[] = [];
  for (const entry of await readdir(root, { recursive: true })) {
    if (!entry.endsWith("_pb.js")) continue;
    const module = (await import(new URL(entry, `file://${root}`).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (name.startsWith("file_") && value && typeof value === "object") files.push(value as DescFile);
    }
  }
  return createRegistry(...files);
}
