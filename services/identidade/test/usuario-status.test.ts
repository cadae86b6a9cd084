// The account lifecycle as a pure state machine: where each command leads and what it emits.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  mayObtainTokens,
  statusOf,
  transition,
  USUARIO_COMMANDS,
  USUARIO_STATUSES,
  type UsuarioCommand,
  type UsuarioStatus,
} from "../src/domain/usuario.ts";

const status = fc.constantFrom(...USUARIO_STATUSES);
const command = fc.constantFrom(...USUARIO_COMMANDS);

describe("usuario status", () => {
  test("the table", () => {
    expect(USUARIO_STATUSES.map((s) => USUARIO_COMMANDS.map((c) => transition(s, c)))).toEqual([
      [
        { to: "DESATIVADO", emits: [{ type: "UsuarioDesativado" }] },
        { to: "ATIVO", emits: [] },
      ],
      [
        { to: "DESATIVADO", emits: [] },
        { to: "ATIVO", emits: [] },
      ],
    ]);
  });

  test("UsuarioDesativado is emitted exactly when an active account is disabled", () => {
    fc.assert(
      fc.property(status, command, (from, c) => {
        const next = transition(from, c);
        expect(next.emits.length > 0).toBe(from === "ATIVO" && c === "DISABLE");
        expect(transition(next.to, c)).toEqual({ to: next.to, emits: [] });
      }),
    );
  });

  test("after any sequence, tokens are obtainable exactly when the last command was not DISABLE", () => {
    fc.assert(
      fc.property(status, fc.array(command, { maxLength: 10 }), (from, commands: UsuarioCommand[]) => {
        const end = commands.reduce<UsuarioStatus>((s, c) => transition(s, c).to, from);
        const last = commands.at(-1);
        expect(mayObtainTokens(end)).toBe(last === undefined ? from === "ATIVO" : last === "ENABLE");
        // One UsuarioDesativado per move from ATIVO to DESATIVADO, never more.
        let current = from;
        let emitted = 0;
        let moves = 0;
        for (const c of commands) {
          const next = transition(current, c);
          emitted += next.emits.length;
          if (current === "ATIVO" && next.to === "DESATIVADO") moves++;
          current = next.to;
        }
        expect(emitted).toBe(moves);
      }),
    );
  });

  test("the stored flag reads as the status", () => {
    expect(statusOf({ disabled: true })).toBe("DESATIVADO");
    expect(statusOf({ disabled: false })).toBe("ATIVO");
  });
});
