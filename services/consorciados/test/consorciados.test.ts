import { randomUUID } from "node:crypto";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  Canal,
  type Consorciado,
  ConsorciadoCriadoSchema,
  ConsorciadoStatus,
  Finalidade,
  PessoaFisicaSchema,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { cpf } from "cpf-cnpj-validator";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ERASURE_JOB } from "../src/service.ts";
import { startConsorciados } from "./support.ts";

type Harness = Awaited<ReturnType<typeof startConsorciados>>;
let h: Harness;
let operador: string;
let admin: string;
let auditor: string;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  h = await startConsorciados();
  operador = await h.issuer.token({ roles: [Role.OPERADOR] });
  admin = await h.issuer.token({ roles: [Role.ADMIN] });
  auditor = await h.issuer.token({ roles: [Role.AUDITOR] });
});
afterAll(() => h.stop());

function pessoaFisica(overrides: { cpf?: string; nome?: string } = {}) {
  return {
    tipo: TipoPessoa.FISICA,
    pessoa: {
      case: "pf" as const,
      value: {
        cpf: overrides.cpf ?? cpf.generate(true),
        nome: overrides.nome ?? `Maria José da Conceição ${randomUUID().slice(0, 6)}`,
        dataNascimento: { year: 1980, month: 5, day: 17 },
      },
    },
    endereco: {
      cep: "01310-100",
      logradouro: "Avenida Paulista",
      numero: "1000",
      municipio: "São Paulo",
      uf: "SP",
    },
    email: `maria.${randomUUID().slice(0, 6)}@example.com`,
    telefones: ["+5511998765432"],
    contaBancaria: { banco: "001", agencia: "1234", conta: "567890", digito: "1", tipo: 1 },
    chavePix: "maria@example.com",
  };
}

async function createPf(overrides: { cpf?: string; nome?: string } = {}): Promise<Consorciado> {
  const { consorciado } = await h.client.createConsorciado(
    { consorciado: pessoaFisica(overrides) },
    bearer(operador),
  );
  if (!consorciado) throw new Error("no consorciado");
  return consorciado;
}

async function fieldsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(error?.code).toBe(Code.InvalidArgument);
  const [violations] = error?.findDetails(ViolationsSchema) ?? [];
  return (violations?.violations ?? []).map((v) => v.field?.elements.map((e) => e.fieldName).join(".") ?? "");
}

describe("records and validation", () => {
  test("create and read back a pessoa física; the database holds no plaintext personal data", async () => {
    const input = pessoaFisica();
    const { consorciado } = await h.client.createConsorciado({ consorciado: input }, bearer(operador));
    expect(consorciado?.status).toBe(ConsorciadoStatus.ATIVO);
    const read = await h.client.getConsorciado({ id: consorciado?.id ?? "" }, bearer(auditor));
    expect(read.consorciado?.pessoa).toMatchObject({ case: "pf", value: { nome: input.pessoa.value.nome } });
    expect(read.consorciado?.email).toBe(input.email);
    expect(read.consorciado?.endereco?.municipio).toBe("São Paulo");

    const dump =
      JSON.stringify(await h.db.query("select * from consorciado")) +
      JSON.stringify(await h.db.query("select encode(payload, 'escape') as p from platform_outbox"));
    const digits = input.pessoa.value.cpf.replace(/\D/g, "");
    for (const plaintext of [
      digits,
      input.pessoa.value.cpf,
      input.pessoa.value.nome,
      "Conceição",
      input.email,
      "998765432",
      "Paulista",
      "567890",
    ]) {
      expect(dump).not.toContain(plaintext);
    }
    const [event] = await h.db.query("select payload from platform_outbox where event_type = $1", [
      ConsorciadoCriadoSchema.typeName,
    ]);
    expect(fromBinary(ConsorciadoCriadoSchema, event?.payload)).toMatchObject({ tipo: TipoPessoa.FISICA });
  });

  test("a retried create with the same request_id returns the record again; replays keep no personal data", async () => {
    const input = pessoaFisica();
    const requestId = randomUUID();
    const first = await h.client.createConsorciado({ consorciado: input, requestId }, bearer(operador));
    const again = await h.client.createConsorciado({ consorciado: input, requestId }, bearer(operador));
    expect(again.consorciado?.id).toBe(first.consorciado?.id);
    expect(again.consorciado?.email).toBe(input.email);
    const [kept] = await h.db.query(
      "select encode(response, 'escape') as r from platform_idempotency where request_id = $1",
      [requestId],
    );
    expect(kept?.r).toContain(first.consorciado?.id);
    for (const plaintext of [
      input.pessoa.value.nome,
      input.email,
      input.pessoa.value.cpf.replace(/\D/g, ""),
    ]) {
      expect(kept?.r).not.toContain(plaintext);
    }
  });

  test("a duplicate CPF is AlreadyExists, whatever its punctuation", async () => {
    const document = cpf.generate();
    await createPf({ cpf: document });
    await expect(createPf({ cpf: cpf.format(document) })).rejects.toMatchObject({ code: Code.AlreadyExists });
  });

  test("invalid CPFs are InvalidArgument naming the field: wrong digits, all equal, wrong length", async () => {
    const valid = cpf.generate();
    const wrongDigit = `${valid.slice(0, 10)}${(Number(valid[10]) + 1) % 10}`;
    for (const bad of [wrongDigit, "111.111.111-11", "1234567890", "123.456.789-0000"]) {
      expect(
        await fieldsOf(
          h.client.createConsorciado({ consorciado: pessoaFisica({ cpf: bad }) }, bearer(operador)),
        ),
        bad,
      ).toEqual(["consorciado.pf.cpf"]);
    }
    expect(await h.db.query("select id from consorciado where status = 'X'")).toHaveLength(0);
  });

  test("a valid alphanumeric CNPJ is accepted; a bad one is refused with the field named", async () => {
    const pj = (cnpjValue: string) => ({
      tipo: TipoPessoa.JURIDICA,
      pessoa: {
        case: "pj" as const,
        value: {
          cnpj: cnpjValue,
          razaoSocial: "Transportes Alfa Ltda",
          representanteNome: "João Alfa",
          representanteCpf: cpf.generate(),
        },
      },
    });
    const unique = `${randomUUID().replace(/-/g, "").slice(0, 12).toUpperCase()}`;
    const { cnpj } = await import("cpf-cnpj-validator");
    // A fresh alphanumeric root: the library computes the check digits, our service validates them.
    const generated = cnpj.generate();
    const { consorciado } = await h.client.createConsorciado(
      { consorciado: pj(generated) },
      bearer(operador),
    );
    expect(consorciado?.pessoa).toMatchObject({ case: "pj", value: { cnpj: generated } });
    await expect(
      h.client.createConsorciado({ consorciado: pj("12.ABC.345/01DE-35") }, bearer(operador)),
    ).resolves.toBeDefined();
    expect(
      await fieldsOf(h.client.createConsorciado({ consorciado: pj("12.ABC.345/01DE-34") }, bearer(operador))),
    ).toEqual(["consorciado.pj.cnpj"]);
    expect(
      await fieldsOf(h.client.createConsorciado({ consorciado: pj("AAAAAAAAAAAAAA") }, bearer(operador))),
    ).toEqual(["consorciado.pj.cnpj"]);
    expect(unique).toHaveLength(12);
  });

  test("address and contacts are validated by the contract (CEP, UF, e-mail)", async () => {
    const input = pessoaFisica();
    const fields = await fieldsOf(
      h.client.createConsorciado(
        {
          consorciado: {
            ...input,
            email: "not-an-email",
            endereco: { ...input.endereco, cep: "123", uf: "XX" },
          },
        },
        bearer(operador),
      ),
    );
    expect(fields.sort()).toEqual([
      "consorciado.email",
      "consorciado.endereco.cep",
      "consorciado.endereco.uf",
    ]);
  });

  test("list filters by name prefix (accents and case ignored), document and status, with pagination", async () => {
    const marker = `Zé${randomUUID().slice(0, 5)}`;
    const a = await createPf({ nome: `${marker} Alves` });
    const b = await createPf({ nome: `${marker} Barros` });
    const prefix = marker
      .normalize("NFD")
      .replace(/\p{Diacritic}/gu, "")
      .toUpperCase();
    const first = await h.client.listConsorciados({ nomePrefix: prefix, pageSize: 1 }, bearer(operador));
    expect(first.consorciados).toHaveLength(1);
    const second = await h.client.listConsorciados(
      { nomePrefix: prefix, pageSize: 1, pageToken: first.nextPageToken },
      bearer(operador),
    );
    expect([first.consorciados[0]?.id, second.consorciados[0]?.id].sort()).toEqual([a.id, b.id].sort());
    expect(second.nextPageToken).toBe("");
    const byDocument = await h.client.listConsorciados(
      { documento: a.pessoa.case === "pf" ? a.pessoa.value.cpf : "" },
      bearer(operador),
    );
    expect(byDocument.consorciados.map((c) => c.id)).toEqual([a.id]);
  });

  test("update with a field mask and a version; conflicting versions are Aborted", async () => {
    const c = await createPf();
    const mask = create(FieldMaskSchema, { paths: ["email", "pf.nome"] });
    const renamed = {
      ...c,
      email: "novo@example.com",
      pessoa: { case: "pf" as const, value: create(PessoaFisicaSchema, { nome: "Nome Novo Silva" }) },
    };
    const { consorciado } = await h.client.updateConsorciado(
      { consorciado: renamed, updateMask: mask },
      bearer(operador),
    );
    expect(consorciado?.email).toBe("novo@example.com");
    expect(consorciado?.pessoa).toMatchObject({
      value: { nome: "Nome Novo Silva", cpf: c.pessoa.case === "pf" ? c.pessoa.value.cpf : "" },
    });
    await expect(
      h.client.updateConsorciado({ consorciado: renamed, updateMask: mask }, bearer(operador)),
    ).rejects.toMatchObject({
      code: Code.Aborted,
    });
    expect(
      await fieldsOf(
        h.client.updateConsorciado(
          {
            consorciado: { ...consorciado, pessoa: { case: undefined } } as never,
            updateMask: create(FieldMaskSchema, { paths: ["pf.cpf"] }),
          },
          bearer(operador),
        ),
      ),
    ).toEqual(["update_mask"]);
  });

  test('an update without a version is InvalidArgument "version required", not Aborted', async () => {
    const c = await createPf();
    const error = await h.client
      .updateConsorciado(
        {
          consorciado: { ...c, version: 0, email: "sem.versao@example.com" },
          updateMask: create(FieldMaskSchema, { paths: ["email"] }),
        },
        bearer(operador),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toMatchObject({ code: Code.InvalidArgument });
    expect((error as ConnectError).rawMessage).toContain("version required");
    expect((await h.client.getConsorciado({ id: c.id }, bearer(operador))).consorciado?.email).toBe(c.email);
  });

  test("a retried update or disabling with the same request_id changes nothing more", async () => {
    const c = await createPf();
    const requestId = randomUUID();
    const request = {
      consorciado: { ...c, email: "retry@example.com" },
      updateMask: create(FieldMaskSchema, { paths: ["email"] }),
      requestId,
    };
    const first = await h.client.updateConsorciado(request, bearer(operador));
    // Without the key the same request would be Aborted: its version is spent.
    const again = await h.client.updateConsorciado(request, bearer(operador));
    expect(again.consorciado?.version).toBe(first.consorciado?.version);
    expect(again.consorciado?.email).toBe("retry@example.com");
    const [kept] = await h.db.query<{ r: string }>(
      "select encode(response, 'escape') as r from platform_idempotency where request_id = $1",
      [requestId],
    );
    expect(kept?.r).toContain(c.id);
    expect(kept?.r).not.toContain("retry@example.com");

    const disabling = { id: c.id, requestId: randomUUID() };
    await h.client.disableConsorciado(disabling, bearer(admin));
    const replayed = await h.client.disableConsorciado(disabling, bearer(admin));
    expect(replayed.consorciado?.status).toBe(ConsorciadoStatus.INATIVO);
    await expect(
      h.client.disableConsorciado({ id: randomUUID(), requestId: disabling.requestId }, bearer(admin)),
    ).rejects.toMatchObject({ code: Code.FailedPrecondition });
  });
});

describe("self-service (owner-scoped)", () => {
  test("a CONSORCIADO reads and updates only their own record, and only contacts", async () => {
    const mine = await createPf();
    const theirs = await createPf();
    const token = await h.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: mine.id });
    await expect(h.client.getConsorciado({ id: mine.id }, bearer(token))).resolves.toBeDefined();
    const denied = await h.client
      .getConsorciado({ id: theirs.id }, bearer(token))
      .catch((e) => ConnectError.from(e));
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    expect(JSON.stringify(denied)).not.toContain(theirs.email);
    await expect(h.client.listConsorciados({}, bearer(token))).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });

    const phones = create(FieldMaskSchema, { paths: ["telefones"] });
    const updated = await h.client.updateConsorciado(
      { consorciado: { ...mine, telefones: ["+5521987654321"] }, updateMask: phones },
      bearer(token),
    );
    expect(updated.consorciado?.telefones).toEqual(["+5521987654321"]);
    await expect(
      h.client.updateConsorciado(
        { consorciado: { ...theirs, telefones: ["+5521987654321"] }, updateMask: phones },
        bearer(token),
      ),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect(
      await fieldsOf(
        h.client.updateConsorciado(
          {
            consorciado: { ...updated.consorciado, pep: true } as never,
            updateMask: create(FieldMaskSchema, { paths: ["pep"] }),
          },
          bearer(token),
        ),
      ),
    ).toEqual(["update_mask"]);
  });
});

describe("LGPD", () => {
  test("consents are recorded with purpose, channel and time, and listed as history", async () => {
    const c = await createPf();
    const owner = await h.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: c.id });
    await h.client.recordConsentimento(
      { consorciadoId: c.id, finalidade: Finalidade.MARKETING, concedido: true, canal: Canal.APP },
      bearer(owner),
    );
    await h.client.recordConsentimento(
      { consorciadoId: c.id, finalidade: Finalidade.MARKETING, concedido: false, canal: Canal.PORTAL },
      bearer(owner),
    );
    const { consentimentos } = await h.client.listConsentimentos({ consorciadoId: c.id }, bearer(auditor));
    expect(consentimentos.map((x) => [x.concedido, x.canal])).toEqual([
      [true, Canal.APP],
      [false, Canal.PORTAL],
    ]);
    expect(consentimentos[0]?.createTime).toBeDefined();
  });

  test("consents are listed in pages; a bad page token is InvalidArgument", async () => {
    const c = await createPf();
    for (const canal of [Canal.APP, Canal.PORTAL, Canal.TELEFONE]) {
      await h.client.recordConsentimento(
        { consorciadoId: c.id, finalidade: Finalidade.MARKETING, concedido: true, canal },
        bearer(operador),
      );
    }
    const seen: Canal[][] = [];
    let pageToken = "";
    do {
      const page = await h.client.listConsentimentos(
        { consorciadoId: c.id, pageSize: 2, pageToken },
        bearer(auditor),
      );
      seen.push(page.consentimentos.map((x) => x.canal));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([[Canal.APP, Canal.PORTAL], [Canal.TELEFONE]]);
    await expect(
      h.client.listConsentimentos({ consorciadoId: c.id, pageToken: "not-a-token" }, bearer(auditor)),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  test("the export holds everything stored about the person, decrypted", async () => {
    const input = pessoaFisica();
    const { consorciado } = await h.client.createConsorciado({ consorciado: input }, bearer(operador));
    const id = consorciado?.id ?? "";
    const owner = await h.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: id });
    await h.client.recordConsentimento(
      {
        consorciadoId: id,
        finalidade: Finalidade.PESQUISA_SATISFACAO,
        concedido: true,
        canal: Canal.TELEFONE,
      },
      bearer(owner),
    );
    await h.db.query(
      "insert into participacao (id, consorciado_id, grupo_id, cota_numero, evento, valor_centavos, occurred_at) values ($1, $2, 'G-100', 42, 'ADESAO', 58500, now())",
      [randomUUID(), id],
    );
    const exported = await h.client.exportDadosPessoais({ consorciadoId: id }, bearer(owner));
    expect(exported.document?.contentType).toBe("application/json");
    const document = JSON.parse(new TextDecoder().decode(exported.document?.data));
    expect(document.consorciado.dadosPessoais).toMatchObject({
      pf: {
        cpf: input.pessoa.value.cpf.replace(/\D/g, ""),
        nome: input.pessoa.value.nome,
        dataNascimento: { year: 1980, month: 5, day: 17 },
      },
      email: input.email,
      telefones: input.telefones,
      endereco: { cep: "01310100", logradouro: "Avenida Paulista", uf: "SP" },
      contaBancaria: { banco: "001", conta: "567890" },
      chavePix: input.chavePix,
    });
    expect(document.consentimentos).toHaveLength(1);
    expect(document.participacoes).toEqual([
      expect.objectContaining({ grupoId: "G-100", cota: 42, valorCentavos: "58500" }),
    ]);
    // The export itself is recorded as a data subject request.
    expect(
      (await h.client.exportDadosPessoais({ consorciadoId: id }, bearer(owner))).document?.data.length,
    ).toBeGreaterThan(0);
    const requests = await h.db.query(
      "select tipo, situacao from solicitacao_titular where consorciado_id = $1",
      [id],
    );
    expect(requests.filter((r) => r.tipo === "EXPORTACAO")).toHaveLength(2);
  });

  test("while one of the person's grupos is still running, erasure restricts but schedules nothing", async () => {
    const c = await createPf();
    await h.db.query(
      "insert into participacao (id, consorciado_id, grupo_id, cota_numero, evento, occurred_at) values ($1, $2, 'G-ABERTO', 3, 'ADESAO', now())",
      [randomUUID(), c.id],
    );
    const { consorciado } = await h.client.requestErasure({ consorciadoId: c.id }, bearer(admin));
    expect(consorciado?.status).toBe(ConsorciadoStatus.RESTRITO);
    expect(consorciado?.anonimizacaoDueTime).toBeUndefined();
    expect((await h.client.processDueErasures({}, bearer(admin))).anonimizados).toBe(0);
  });

  test("erasure restricts at once and, when due, shreds the data while the financial history stays", async () => {
    const c = await createPf();
    const owner = await h.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: c.id });
    await h.db.query(
      "insert into participacao (id, consorciado_id, grupo_id, cota_numero, evento, valor_centavos, occurred_at, grupo_encerrado_at) values ($1, $2, 'G-7', 7, 'PAGAMENTO', 70200, now(), now() - interval '1 year')",
      [randomUUID(), c.id],
    );
    const { consorciado } = await h.client.requestErasure(
      { consorciadoId: c.id, motivo: "não quero mais" },
      bearer(owner),
    );
    expect(consorciado?.status).toBe(ConsorciadoStatus.RESTRITO);
    const due = consorciado?.anonimizacaoDueTime?.seconds ?? 0n;
    expect(Number(due) * 1000 - Date.now()).toBeGreaterThan(4.9 * 365 * 24 * 3600 * 1000);
    // Restricted: no more changes, out of searches; nothing is anonymised before it is due.
    await expect(
      h.client.updateConsorciado(
        {
          consorciado: { ...c, email: "x@example.com" },
          updateMask: create(FieldMaskSchema, { paths: ["email"] }),
        },
        bearer(operador),
      ),
    ).rejects.toMatchObject({ code: Code.FailedPrecondition });
    expect(
      (
        await h.client.listConsorciados(
          { documento: c.pessoa.case === "pf" ? c.pessoa.value.cpf : "" },
          bearer(operador),
        )
      ).consorciados,
    ).toHaveLength(0);
    expect((await h.client.processDueErasures({}, bearer(admin))).anonimizados).toBe(0);

    // The hourly job, an hour before the due date: nothing yet.
    const dueAt = Number(due) * 1000;
    await h.clock.set(new Date(dueAt - 3_600_000));
    expect((await h.client.getConsorciado({ id: c.id }, bearer(auditor))).consorciado?.status).toBe(
      ConsorciadoStatus.RESTRITO,
    );
    // Five years later its next run shreds the data, with no call.
    await h.clock.set(new Date(dueAt + 3_600_000));
    const runs = await h.db.query(
      "select outcome from platform_job_run where job = $1 and not manual order by scheduled_for",
      [ERASURE_JOB],
    );
    expect(runs).toEqual([{ outcome: "succeeded" }, { outcome: "succeeded" }]);
    const after = await h.client.getConsorciado({ id: c.id }, bearer(auditor));
    expect(after.consorciado?.status).toBe(ConsorciadoStatus.ANONIMIZADO);
    expect(after.consorciado?.pessoa).toMatchObject({
      case: "pf",
      value: { cpf: "[anonimizado]", nome: "[anonimizado]" },
    });
    expect(after.consorciado?.email).toBe("");
    const [row] = await h.db.query("select data_key, dados, documento_hash from consorciado where id = $1", [
      c.id,
    ]);
    expect(row).toEqual({ data_key: null, dados: null, documento_hash: null });
    const history = await h.db.query("select valor_centavos from participacao where consorciado_id = $1", [
      c.id,
    ]);
    expect(history).toEqual([{ valor_centavos: "70200" }]);
    const requests = await h.db.query(
      "select situacao from solicitacao_titular where consorciado_id = $1 and tipo = 'ELIMINACAO'",
      [c.id],
    );
    expect(requests).toEqual([{ situacao: "CONCLUIDA" }]);
    const events = await h.db.query(
      "select count(*)::int as n from platform_outbox where event_type like '%DadosAnonimizados'",
    );
    expect(events[0]?.n).toBe(1);
    await h.clock.set(new Date());
  });
});
