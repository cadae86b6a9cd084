// `consorcio`, the operators' command line: `npx consorcio …` or `npm run cli -- …`.
// Exit codes: 0 ok, 1 an error (one line on stderr), 2 wrong usage.
import { Command, CommanderError, Option } from "commander";
import { authCommands } from "./commands/auth.ts";
import { consorciadosCommands } from "./commands/consorciados.ts";
import { financeiroCommands } from "./commands/financeiro.ts";
import { gruposCommands } from "./commands/grupos.ts";
import { sorteiosCommands } from "./commands/sorteios.ts";
import { CLI_SERVICES } from "./config.ts";
import { exitCodeOf, formatError } from "./errors.ts";

export function buildProgram(): Command {
  const program = new Command("consorcio")
    .description("Operate the consórcio platform: grupos, consorciados, cobrança, CNAB, sorteios")
    .version("0.1.0")
    .option("--json", "print the raw responses as proto3 JSON")
    .showHelpAfterError("(consorcio --help lists the commands)")
    .enablePositionalOptions(false);
  for (const service of CLI_SERVICES)
    program.addOption(
      new Option(
        `--url-${service} <url>`,
        `${service}'s address (else $${service.toUpperCase()}_URL, else its catalog port on 127.0.0.1 + $CONSORCIO_PORT_OFFSET)`,
      ),
    );
  authCommands(program);
  gruposCommands(program);
  consorciadosCommands(program);
  financeiroCommands(program);
  sorteiosCommands(program);
  // Every (sub)command: commander's own exits become CommanderErrors, mapped to our codes below.
  const override = (command: Command) => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for are success; everything else commander refuses is usage.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      return 2;
    }
    process.stderr.write(`${formatError(error)}\n`);
    return exitCodeOf(error);
  }
}

// The HTTP/2 sessions would keep the process alive for a while: exit as soon as the work is done.
const code = await main(process.argv.slice(2));
process.exitCode = code;
process.exit(code);
