// The payment documents of a parcela: nosso número, boleto (barcode, linha digitável) and the
// Pix copia-e-cola with its txid, built by the engine from the administradora's parameters.
import type { CivilDate } from "@consorcio/domain";
import { buildBoleto } from "./domain/boleto.ts";
import { pixEstaticoBuilder, txidDaParcela } from "./domain/pix.ts";

export interface Beneficiario {
  banco: string;
  agencia: string;
  conta: string;
  carteira: string;
  convenio: string;
  pixChave: string;
  pixNome: string;
  pixCidade: string;
}

export interface DocumentosParcela {
  nossoNumero: string;
  codigoBarras: string;
  linhaDigitavel: string;
  pixTxid: string;
  pixCopiaECola: string;
}

export type GeradorDocumentos = (input: {
  sequencial: bigint;
  vencimento: CivilDate;
  valorCentavos: bigint;
}) => DocumentosParcela;

export function documentosGenerator(b: Beneficiario): GeradorDocumentos {
  const beneficiario = {
    banco: b.banco,
    agencia: b.agencia,
    conta: b.conta,
    carteira: b.carteira,
    convenio: b.convenio || undefined,
  };
  // The receiver's part of the BR Code is the same for every parcela: built once.
  const pix = pixEstaticoBuilder({ chave: b.pixChave, nomeRecebedor: b.pixNome, cidade: b.pixCidade });
  return ({ sequencial, vencimento, valorCentavos }) => {
    const boleto = buildBoleto({ beneficiario, sequencial, vencimento, valorCentavos });
    const pixTxid = txidDaParcela(sequencial);
    return {
      nossoNumero: boleto.nossoNumero.cnab,
      codigoBarras: boleto.codigoBarras,
      linhaDigitavel: boleto.linhaDigitavel,
      pixTxid,
      pixCopiaECola: pix(valorCentavos, pixTxid),
    };
  };
}
