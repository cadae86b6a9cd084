// Typed Connect clients over HTTP/2 to each service, with the stored token attached and renewed:
// an access token that expires within a minute (or that a service refused) is refreshed once with
// the refresh token, and the rotated pair is saved.
import type { DescService } from "@bufbuild/protobuf";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { type CliService, serviceUrl } from "./config.ts";
import { type Credentials, loadCredentials, saveCredentials, withCredentialsLock } from "./credentials.ts";
import { CliError } from "./errors.ts";

const RENEW_BEFORE_MS = 60_000;
const CALL_TIMEOUT_MS = Number(process.env.CONSORCIO_TIMEOUT_MS ?? 120_000);

export class Session {
  private readonly transports = new Map<string, Transport>();
  private credentials: Credentials | undefined;
  private refreshing: Promise<void> | undefined;

  private readonly flags: Partial<Record<string, string>>;

  constructor(flags: Partial<Record<string, string>>) {
    this.flags = flags;
    this.credentials = loadCredentials();
  }

  url(service: CliService): string {
    return serviceUrl(service, this.flags);
  }

  private transport(service: CliService, authenticated: boolean): Transport {
    const key = `${service}:${authenticated}`;
    let transport = this.transports.get(key);
    if (!transport) {
      const interceptors: Interceptor[] = authenticated ? [this.authInterceptor()] : [];
      transport = createConnectTransport({
        baseUrl: this.url(service),
        httpVersion: "2",
        interceptors,
        defaultTimeoutMs: CALL_TIMEOUT_MS,
      });
      this.transports.set(key, transport);
    }
    return transport;
  }

  /** A client that sends no token (login, refresh). */
  anonymous<S extends DescService>(service: S, on: CliService): Client<S> {
    return createClient(service, this.transport(on, false));
  }

  /** A client that sends the logged-in user's token. */
  client<S extends DescService>(service: S, on: CliService): Client<S> {
    return createClient(service, this.transport(on, true));
  }

  current(): Credentials | undefined {
    return this.credentials;
  }

  /** The stored session, its access token renewed if it is about to expire. */
  async fresh(): Promise<Credentials> {
    const credentials = this.requireLogin();
    if (credentials.accessExpiresAt - Date.now() < RENEW_BEFORE_MS) await this.refresh();
    return this.requireLogin();
  }

  private requireLogin(): Credentials {
    if (!this.credentials) throw new CliError("not logged in: run `consorcio login` first");
    return this.credentials;
  }

  private refresh(): Promise<void> {
    this.refreshing ??= withCredentialsLock(async () => {
      const used = this.requireLogin();
      // Another consorcio may have renewed it while this one waited for the lock.
      const latest = loadCredentials();
      if (!latest) throw new CliError("not logged in: run `consorcio login` first");
      if (latest.accessToken !== used.accessToken && latest.accessExpiresAt - Date.now() >= RENEW_BEFORE_MS) {
        this.credentials = latest;
        return;
      }
      const credentials = latest;
      const auth = createClient(
        AuthService,
        createConnectTransport({ baseUrl: credentials.identidadeUrl, httpVersion: "2" }),
      );
      try {
        const renewed = await auth.refresh({ refreshToken: credentials.refreshToken });
        this.credentials = {
          ...credentials,
          accessToken: renewed.accessToken,
          refreshToken: renewed.refreshToken || credentials.refreshToken,
          accessExpiresAt: Date.now() + renewed.expiresIn * 1000,
        };
        saveCredentials(this.credentials);
      } catch (error) {
        const cause = ConnectError.from(error);
        if (cause.code === Code.Unauthenticated || cause.code === Code.InvalidArgument)
          throw new CliError(`session expired (${cause.rawMessage}): run \`consorcio login\` again`);
        throw error;
      }
    }).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private authInterceptor(): Interceptor {
    return (next) => async (req) => {
      const credentials = await this.fresh();
      req.header.set("authorization", `Bearer ${credentials.accessToken}`);
      try {
        return await next(req);
      } catch (error) {
        // A token the service refused though unexpired (a rotated key, a clock apart): renew once.
        // Only unary requests are retried: their message can be sent again.
        if (ConnectError.from(error).code !== Code.Unauthenticated || req.stream) throw error;
        const used = credentials.accessToken;
        if (this.credentials?.accessToken === used) await this.refresh();
        req.header.set("authorization", `Bearer ${this.requireLogin().accessToken}`);
        return await next(req);
      }
    };
  }
}
