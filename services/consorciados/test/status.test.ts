// The consorciado's lifecycle and the consents as pure state machines: which moves are legal,
// where each ends and what each emits.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type Canal, estadoDe, type Finalidade, recordConsentimento } from "../src/domain/consentimento.ts";
import type { Status } from "../src/domain/consorciado.ts";
import {
  COMMANDS,
  dataChangeRefusal,
  STATUSES,
  type StatusCommand,
  transition,
} from "../src/domain/status.ts";

const status = fc.constantFrom(...STATUSES);
const command = fc.constantFrom(...COMMANDS);

/** Applies commands in order, skipping refused ones, as the use cases would. */
function run(from: Status, commands: readonly StatusCommand[]): Status {
  return commands.reduce((current, c) => {
    const next = transition(current, c);
    return "refused" in next ? current : next.to;
  }, from);
}

describe("consorciado status", () => {
  test("the table: every status and command", () => {
    const table = Object.fromEntries(
      STATUSES.map((from) => [
        from,
        Object.fromEntries(
          COMMANDS.map((c) => {
            const next = transition(from, c);
            return [c, "refused" in next ? "refused" : next.to];
          }),
        ),
      ]),
    );
    expect(table).toEqual({
      ATIVO: { DISABLE: "INATIVO", REQUEST_ERASURE: "RESTRITO", ANONYMIZE: "refused" },
      INATIVO: { DISABLE: "INATIVO", REQUEST_ERASURE: "RESTRITO", ANONYMIZE: "refused" },
      RESTRITO: { DISABLE: "RESTRITO", REQUEST_ERASURE: "RESTRITO", ANONYMIZE: "ANONIMIZADO" },
      ANONIMIZADO: { DISABLE: "ANONIMIZADO", REQUEST_ERASURE: "ANONIMIZADO", ANONYMIZE: "ANONIMIZADO" },
    });
  });

  test("a move emits exactly one event naming the new status; staying emits nothing", () => {
    fc.assert(
      fc.property(status, command, (from, c) => {
        const next = transition(from, c);
        if ("refused" in next) return;
        if (next.to === from) expect(next.emits).toEqual([]);
        else if (next.to === "ANONIMIZADO") expect(next.emits).toEqual([{ type: "DadosAnonimizados" }]);
        else
          expect(next.emits).toEqual([
            { type: "ConsorciadoAtualizado", campos: ["status"], status: next.to },
          ]);
      }),
    );
  });

  test("every command is idempotent: applied twice it ends where once does, the second emitting nothing", () => {
    fc.assert(
      fc.property(status, command, (from, c) => {
        const once = transition(from, c);
        if ("refused" in once) return;
        expect(transition(once.to, c)).toEqual({ to: once.to, emits: [] });
      }),
    );
  });

  test("anonymised is final, and is reached only through an erasure request", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 12 }), (commands) => {
        expect(run("ANONIMIZADO", commands)).toBe("ANONIMIZADO");
        const end = run("ATIVO", commands);
        if (end === "ANONIMIZADO") {
          const first = commands.indexOf("ANONYMIZE", commands.indexOf("REQUEST_ERASURE"));
          expect(commands.indexOf("REQUEST_ERASURE")).toBeGreaterThanOrEqual(0);
          expect(first).toBeGreaterThan(commands.indexOf("REQUEST_ERASURE"));
        }
        // Once restricted, nothing but anonymisation moves it.
        expect(["RESTRITO", "ANONIMIZADO"]).toContain(run("RESTRITO", commands));
      }),
    );
  });

  test("personal data changes only while ATIVO or INATIVO", () => {
    expect(STATUSES.filter((s) => dataChangeRefusal(s) === undefined)).toEqual(["ATIVO", "INATIVO"]);
    expect(dataChangeRefusal("RESTRITO")).toBe("processing of this consorciado is restrito");
  });
});

describe("consentimentos", () => {
  const finalidade = fc.constantFrom<Finalidade>(
    "MARKETING",
    "COMPARTILHAMENTO_PARCEIROS",
    "PESQUISA_SATISFACAO",
  );
  const canal = fc.constantFrom<Canal>("PORTAL", "APP", "TELEFONE", "PRESENCIAL", "PARCEIRO");
  const record = fc.record({ finalidade, concedido: fc.boolean(), canal });

  test("recording is legal unless the person was anonymised, and always emits what was recorded", () => {
    fc.assert(
      fc.property(status, record, (titular, input) => {
        const result = recordConsentimento(titular, input);
        if (titular === "ANONIMIZADO") {
          expect(result).toEqual({ refused: "this consorciado's data was anonymised" });
          return;
        }
        expect(result).toEqual({
          estado: input.concedido ? "CONCEDIDO" : "REVOGADO",
          emits: [{ type: "ConsentimentoAlterado", ...input }],
        });
      }),
    );
  });

  test("where a purpose stands is its last record, and never asked without one", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), finalidade, (history, f) => {
        const own = history.filter((c) => c.finalidade === f);
        const last = own.at(-1);
        expect(estadoDe(history, f)).toBe(
          last === undefined ? "SEM_REGISTRO" : last.concedido ? "CONCEDIDO" : "REVOGADO",
        );
        // Another purpose's records never change it.
        expect(estadoDe(own, f)).toBe(estadoDe(history, f));
      }),
    );
  });
});
