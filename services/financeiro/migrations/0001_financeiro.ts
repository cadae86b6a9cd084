import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
  override async up(): Promise<void> {
    // financeiro's own copy of the grupo parameters it bills (from grupos' events or GetGrupo).
    this.addSql(`create table grupo (
      id uuid primary key,
      codigo text not null default '',
      preco_centavos bigint not null check (preco_centavos > 0),
      prazo_meses int not null check (prazo_meses between 1 and 600),
      taxa_administracao numeric not null check (taxa_administracao >= 0),
      fundo_reserva numeric not null check (fundo_reserva >= 0),
      seguro_mensal numeric not null default 0 check (seguro_mensal >= 0),
      antecipacao_taxa numeric not null default 0 check (antecipacao_taxa >= 0),
      fundo_comum_por_mes numeric[] null,
      dia_vencimento int not null check (dia_vencimento between 1 and 31),
      limite_inadimplencia int not null default 3 check (limite_inadimplencia >= 1),
      percentual_encargos_grupo numeric not null default 50 check (percentual_encargos_grupo between 50 and 100),
      penalidade_restituicao numeric not null default 0 check (penalidade_restituicao between 0 and 100),
      prazo_lance_dias_uteis int not null default 3 check (prazo_lance_dias_uteis >= 1),
      indice text not null default '',
      updated_at timestamptz not null default now())`);
    // Projection of grupos' cotas: who holds them and whether they may be billed or excluded.
    this.addSql(`create table cota (
      id uuid primary key,
      grupo_id uuid not null references grupo (id),
      consorciado_id uuid not null,
      numero int not null,
      situacao text not null check (situacao in ('ATIVA', 'INADIMPLENTE', 'CONTEMPLADA', 'EXCLUIDA', 'QUITADA', 'CANCELADA')),
      contemplada boolean not null default false,
      data_adesao date not null,
      -- The month of the plan its first parcela is (a cota joining a running grupo starts later).
      mes_inicial int not null default 1 check (mes_inicial >= 1),
      credito_centavos bigint not null default 0 check (credito_centavos >= 0),
      updated_at timestamptz not null default now(),
      version int not null default 1)`);
    this.addSql("create index cota_grupo on cota (grupo_id, id)");
    this.addSql("create index cota_consorciado on cota (consorciado_id)");
    this.addSql("create sequence nosso_numero_seq as bigint minvalue 1 cache 1000");
    this.addSql(`create table parcela (
      id uuid primary key,
      cota_id uuid not null references cota (id),
      grupo_id uuid not null references grupo (id),
      consorciado_id uuid not null,
      competencia text not null check (competencia ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      tipo text not null check (tipo in ('MENSAL', 'ADESAO', 'LANCE')),
      numero int not null,
      vencimento date not null,
      valor_centavos bigint not null check (valor_centavos >= 0),
      fundo_comum_centavos bigint not null,
      taxa_administracao_centavos bigint not null,
      fundo_reserva_centavos bigint not null,
      seguro_centavos bigint not null,
      taxa_antecipada_centavos bigint not null,
      diferenca_preco_centavos bigint not null default 0,
      fundo_comum_percentual numeric not null,
      taxa_administracao_percentual numeric not null,
      fundo_reserva_percentual numeric not null,
      nosso_numero text not null unique,
      codigo_barras text not null,
      linha_digitavel text not null,
      pix_txid text not null unique,
      pix_copia_e_cola text not null,
      situacao text not null check (situacao in ('ABERTA', 'PARCIAL', 'PAGA', 'VENCIDA', 'CANCELADA')),
      pago_centavos bigint not null default 0,
      encargos_pagos_centavos bigint not null default 0,
      contemplacao_id uuid null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      version int not null default 1,
      check ((fundo_comum_centavos + taxa_administracao_centavos + fundo_reserva_centavos + seguro_centavos
              + taxa_antecipada_centavos + diferenca_preco_centavos) = valor_centavos))`);
    // One bill per cota and competência: billing twice creates nothing new.
    this.addSql(
      "create unique index parcela_cota_competencia on parcela (cota_id, competencia) where tipo <> 'LANCE'",
    );
    this.addSql("create unique index parcela_lance on parcela (contemplacao_id) where tipo = 'LANCE'");
    this.addSql("create index parcela_grupo on parcela (grupo_id, competencia, id)");
    this.addSql("create index parcela_cota on parcela (cota_id, vencimento)");
    this.addSql(
      "create index parcela_em_aberto on parcela (vencimento) where situacao in ('ABERTA', 'PARCIAL')",
    );
    // One row per payment a channel reported: (canal, canal_id) unique, so a payment is applied once.
    this.addSql(`create table pagamento (
      id uuid primary key,
      parcela_id uuid null references parcela (id),
      cota_id uuid null,
      grupo_id uuid null,
      canal text not null check (canal in ('PIX', 'CNAB', 'MANUAL')),
      canal_id text not null,
      valor_centavos bigint not null check (valor_centavos > 0),
      data_pagamento date not null,
      resultado text not null check (resultado in ('INTEGRAL', 'PARCIAL', 'EXCEDENTE', 'ESTORNO')),
      principal_centavos bigint not null default 0,
      multa_centavos bigint not null default 0,
      juros_centavos bigint not null default 0,
      credito_centavos bigint not null default 0,
      estorno_centavos bigint not null default 0,
      motivo text not null default '',
      created_at timestamptz not null default now(),
      unique (canal, canal_id),
      check (principal_centavos + multa_centavos + juros_centavos + credito_centavos + estorno_centavos = valor_centavos))`);
    this.addSql("create index pagamento_parcela on pagamento (parcela_id, id)");
    // Each grupo's double-entry ledger. Legs of an entry are inserted in one statement and
    // never changed; a statement trigger refuses any entry whose legs do not sum to zero.
    this.addSql(`create table lancamento (
      id uuid primary key,
      grupo_id uuid not null references grupo (id),
      cota_id uuid null,
      tipo text not null,
      historico text not null default '',
      origem text not null,
      created_at timestamptz not null default now(),
      unique (id, grupo_id),
      unique (grupo_id, origem))`);
    this.addSql(`create table partida (
      lancamento_id uuid not null,
      grupo_id uuid not null,
      conta text not null check (conta in ('CAIXA', 'FUNDO_COMUM', 'FUNDO_RESERVA', 'TAXA_ADMINISTRACAO', 'SEGURO',
        'ENCARGOS_GRUPO', 'ENCARGOS_ADMINISTRADORA', 'CREDITOS_A_PAGAR', 'RESTITUICOES_A_PAGAR',
        'RECURSOS_NAO_PROCURADOS', 'VALORES_A_DEVOLVER')),
      valor_centavos bigint not null check (valor_centavos <> 0),
      primary key (lancamento_id, conta),
      foreign key (lancamento_id, grupo_id) references lancamento (id, grupo_id))`);
    this.addSql("create index partida_grupo_conta on partida (grupo_id, conta)");
    this.addSql(`create function partida_balanceada() returns trigger language plpgsql as $$
      declare desbalanceado uuid;
      begin
        select p.lancamento_id into desbalanceado from partida p
          where p.lancamento_id in (select distinct lancamento_id from novas)
          group by p.lancamento_id having sum(p.valor_centavos) <> 0 limit 1;
        if desbalanceado is not null then
          raise exception 'lancamento % is not balanced', desbalanceado using errcode = '23514';
        end if;
        return null;
      end $$`);
    this.addSql(`create trigger partida_balanceada after insert on partida
      referencing new table as novas for each statement execute function partida_balanceada()`);
    this.addSql(`create function partida_imutavel() returns trigger language plpgsql as $$
      begin raise exception 'ledger legs are append-only' using errcode = '42501'; end $$`);
    this.addSql(`create trigger partida_imutavel before update or delete on partida
      for each row execute function partida_imutavel()`);
    this.addSql(`create trigger lancamento_imutavel before update or delete on lancamento
      for each row execute function partida_imutavel()`);
    // Imported CNAB retornos: the original file is in object storage, the report per line here.
    this.addSql(`create table importacao_cnab (
      id uuid primary key,
      layout text not null,
      nome_arquivo text not null,
      arquivo_key text not null,
      sha256 text not null,
      aplicadas int not null,
      duplicadas int not null,
      rejeitadas int not null,
      linhas jsonb not null,
      created_at timestamptz not null default now())`);
    // The money side of contemplações.
    this.addSql(`create table credito (
      contemplacao_id uuid primary key,
      assembleia_id uuid not null,
      grupo_id uuid not null references grupo (id),
      cota_id uuid not null references cota (id),
      modalidade text not null,
      credito_centavos bigint not null check (credito_centavos >= 0),
      lance_centavos bigint not null default 0 check (lance_centavos >= 0),
      lance_embutido_centavos bigint not null default 0 check (lance_embutido_centavos >= 0),
      lance_prazo date null,
      situacao text not null check (situacao in ('AGUARDANDO_LANCE', 'A_LIBERAR', 'LIBERADO', 'CANCELADO')),
      garantias text null,
      liberado_at timestamptz null,
      created_at timestamptz not null default now(),
      version int not null default 1)`);
    this.addSql("create index credito_grupo on credito (grupo_id, contemplacao_id)");
    this.addSql(
      "create index credito_lance_pendente on credito (lance_prazo) where situacao = 'AGUARDANDO_LANCE'",
    );
    this.addSql(`create table restituicao (
      id uuid primary key,
      cota_id uuid not null references cota (id),
      grupo_id uuid not null references grupo (id),
      motivo text not null check (motivo in ('EXCLUSAO', 'DESISTENCIA')),
      fundo_comum_pago_percentual numeric not null,
      preco_centavos bigint not null,
      penalidade_centavos bigint not null,
      valor_centavos bigint not null check (valor_centavos >= 0),
      situacao text not null check (situacao in ('CALCULADA', 'PAGA')),
      assembleia_id uuid null,
      created_at timestamptz not null default now(),
      paga_at timestamptz null,
      unique (cota_id, motivo))`);
    this.addSql("create index restituicao_grupo on restituicao (grupo_id, id)");
  }
}
