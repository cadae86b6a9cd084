// The package ships no types; these are the functions the boleto tests use.
declare module "boleto-brasileiro-validator" {
  const validator: {
    boletoBancarioCodigoBarras(codigo: string): boolean;
    /** With `validarBlocos`, the three modulo-10 field digits are checked too. */
    boletoBancarioLinhaDigitavel(linha: string, validarBlocos?: boolean): boolean;
  };
  export default validator;
}
