export * from "./calendario.ts";
export * from "./dinheiro.ts";
