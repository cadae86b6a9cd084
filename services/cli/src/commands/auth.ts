// login, logout, whoami.
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService, LoginResponseSchema } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import type { Command } from "commander";
import { action } from "../context.ts";
import {
  credentialsFile,
  deleteCredentials,
  loadCredentials,
  saveCredentials,
  tokenClaims,
} from "../credentials.ts";
import { UsageError } from "../errors.ts";
import { ask, askSecret, readStdin } from "../input.ts";
import { details, print, printJson, printValue } from "../output.ts";

export function authCommands(program: Command): void {
  program
    .command("login")
    .description("log in to identidade and keep the tokens (file mode 600)")
    .option("-u, --username <username>", "account to log in as (asked when missing)")
    .option("--password-stdin", "read the password from standard input")
    .option("--totp <code>", "TOTP code, when the account has one")
    .option("--recovery-code <code>", "a TOTP recovery code instead")
    .action(
      action<{ username?: string; passwordStdin?: boolean; totp?: string; recoveryCode?: string }>(
        async (context, options) => {
          const username = options.username ?? (await ask("username: ")).trim();
          if (!username) throw new UsageError("a username is needed (--username)");
          const password = options.passwordStdin
            ? (await readStdin()).replace(/\r?\n$/, "")
            : await askSecret("password: ");
          if (!password) throw new UsageError("empty password");
          const identidadeUrl = context.session.url("identidade");
          const response = await context.session.anonymous(AuthService, "identidade").login({
            username,
            password,
            totpCode: options.totp ?? "",
            recoveryCode: options.recoveryCode ?? "",
          });
          saveCredentials({
            identidadeUrl,
            username,
            accessToken: response.accessToken,
            refreshToken: response.refreshToken,
            accessExpiresAt: Date.now() + response.expiresIn * 1000,
          });
          if (context.json)
            printJson(LoginResponseSchema, { ...response, accessToken: "…", refreshToken: "…" });
          else print(`logged in as ${username} (credentials in ${credentialsFile()})`);
        },
      ),
    );

  program
    .command("logout")
    .description("end the session: revoke the refresh token and delete the credentials")
    .action(
      action(async (context) => {
        const credentials = loadCredentials();
        if (!credentials) {
          print("not logged in");
          return;
        }
        try {
          await context.session.anonymous(AuthService, "identidade").logout({
            refreshToken: credentials.refreshToken,
          });
        } catch (error) {
          // An already expired or revoked session ends here as well.
          const code = ConnectError.from(error).code;
          if (code !== Code.Unauthenticated && code !== Code.InvalidArgument && code !== Code.NotFound)
            throw error;
        }
        deleteCredentials();
        print(`logged out ${credentials.username}`);
      }),
    );

  program
    .command("whoami")
    .description("who the stored session is (the access token renewed when expired)")
    .action(
      action(async (context) => {
        const credentials = await context.session.fresh();
        const claims = tokenClaims(credentials.accessToken);
        const roles = Array.isArray(claims.roles) ? (claims.roles as string[]) : [];
        const info = {
          username: credentials.username,
          subject: String(claims.sub ?? ""),
          roles,
          identidade: credentials.identidadeUrl,
          accessTokenExpires: new Date(credentials.accessExpiresAt).toISOString(),
        };
        if (context.json) printValue(info);
        else
          print(
            details([
              ["username", info.username],
              ["subject", info.subject],
              ["roles", roles.join(", ")],
              ["identidade", info.identidade],
              ["token expires", info.accessTokenExpires],
            ]),
          );
      }),
    );
}
