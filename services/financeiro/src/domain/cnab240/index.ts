export * from "./layout.ts";
export * from "./remessa.ts";
export * from "./retorno.ts";
