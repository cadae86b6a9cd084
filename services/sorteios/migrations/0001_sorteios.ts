import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table assembleia (
      id uuid primary key,
      grupo_id uuid not null,
      numero int not null,
      data text not null,
      status text not null check (status in ('AGENDADA', 'ABERTA_PARA_LANCES', 'APURADA', 'ENCERRADA')),
      lances_encerrados_at timestamptz null,
      extracao_numero int null,
      extracao_data text null,
      premios text[] null,
      registrada_por text null,
      registrada_at timestamptz null,
      confirmada_por text null,
      confirmada_at timestamptz null,
      apurada_at timestamptz null,
      encerrada_at timestamptz null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      version int not null default 1,
      unique (grupo_id, numero))`);
    this.addSql(`create table lance (
      id uuid primary key,
      assembleia_id uuid not null references assembleia (id),
      grupo_id uuid not null,
      cota_id uuid not null,
      cota_numero int not null,
      consorciado_id uuid not null,
      tipo text not null check (tipo in ('LIVRE', 'FIXO', 'EMBUTIDO')),
      percentual text not null,
      percentual_embutido text not null,
      valor_centavos bigint not null,
      embutido_centavos bigint not null,
      status text not null check (status in ('REGISTRADO', 'CONTEMPLADO', 'NAO_CONTEMPLADO', 'CANCELADO')),
      registrado_por text not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      version int not null default 1,
      unique (assembleia_id, cota_id))`);
    this.addSql("create index lance_consorciado on lance (assembleia_id, consorciado_id)");
    this.addSql(`create table apuracao (
      assembleia_id uuid primary key references assembleia (id),
      grupo_id uuid not null,
      entrada_json text not null,
      entrada_sha256 text not null,
      resultado_json text not null,
      resultado_sha256 text not null,
      saldo_centavos bigint not null,
      apurada_at timestamptz not null)`);
    this.addSql(`create table contemplacao (
      id uuid primary key,
      assembleia_id uuid not null references assembleia (id),
      grupo_id uuid not null,
      cota_id uuid not null,
      cota_numero int not null,
      modalidade text not null check (modalidade in ('SORTEIO', 'RESTITUICAO', 'LANCE_FIXO', 'LANCE_LIVRE')),
      credito_centavos bigint not null,
      lance_centavos bigint not null,
      embutido_centavos bigint not null,
      custo_centavos bigint not null,
      lance_percentual text not null,
      status text not null check (status in ('PROCESSADA', 'LANCE_PAGO', 'CREDITO_LIBERADO', 'CANCELADA')),
      cota_marcada boolean not null default false,
      substitui_contemplacao_id uuid null references contemplacao (id),
      ordem int not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      version int not null default 1,
      unique (assembleia_id, ordem))`);
    this.addSql("create index contemplacao_cota on contemplacao (cota_id)");
    // A compensation replaces a cancelled contemplação once, however often LanceNaoPago arrives.
    this.addSql(
      "create unique index contemplacao_substitui on contemplacao (substitui_contemplacao_id) where substitui_contemplacao_id is not null",
    );
    this.addSql(`create table saga_passo (
      id uuid primary key,
      assembleia_id uuid not null references assembleia (id),
      contemplacao_id uuid null,
      cota_numero int not null,
      evento text not null,
      descricao text not null,
      occurred_at timestamptz not null)`);
    this.addSql("create index saga_passo_assembleia on saga_passo (assembleia_id, occurred_at)");
  }
}
