// What every command gets: the session (clients, token) and the output mode.
import type { Command } from "commander";
import { CLI_SERVICES } from "./config.ts";
import { Session } from "./session.ts";

export interface Context {
  session: Session;
  json: boolean;
}

export function contextOf(command: Command): Context {
  const globals = command.optsWithGlobals() as Record<string, string | boolean | undefined>;
  const flags: Record<string, string> = {};
  for (const service of CLI_SERVICES) {
    const key = `url${service[0]?.toUpperCase()}${service.slice(1)}`;
    const value = globals[key];
    if (typeof value === "string") flags[key] = value;
  }
  return { session: new Session(flags), json: globals.json === true };
}

/** A command's action with its context; errors go up to the one handler in cli.ts. */
export function action<Options>(
  run: (context: Context, options: Options, args: string[]) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = command.opts() as Options;
    await run(contextOf(command), options, command.args);
  };
}
