export * from "./calendario.ts";
export * from "./dinheiro.ts";
export * from "./restituicao.ts";
