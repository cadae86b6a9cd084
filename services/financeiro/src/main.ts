import { runStandalone } from "@consorcio/platform";
import { service } from "./service.ts";

await runStandalone(service);
