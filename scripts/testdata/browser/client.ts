// Bundled by scripts/browser-cors.test.ts (vite) and run in headless Chromium on another origin:
// what a web front-end does with connect-web, over the Connect protocol and gRPC-Web, and REST.
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";

export interface Outcome {
  usernames?: string[];
  requestId?: string | null;
  error?: string;
}

/** Logs in, then lists the usuarios with the token. */
async function loginAndList(
  baseUrl: string,
  protocol: "connect" | "grpc-web",
  username: string,
  password: string,
): Promise<Outcome> {
  const transport =
    protocol === "connect" ? createConnectTransport({ baseUrl }) : createGrpcWebTransport({ baseUrl });
  try {
    const { accessToken } = await createClient(AuthService, transport).login({ username, password });
    let requestId: string | null = null;
    const { usuarios } = await createClient(UsuarioService, transport).listUsuarios(
      { pageSize: 10 },
      {
        headers: { authorization: `Bearer ${accessToken}` },
        // An exposed header is readable only when the server says so (Access-Control-Expose-Headers).
        onHeader: (headers) => {
          requestId = headers.get("x-request-id");
        },
      },
    );
    return { usernames: usuarios.map((usuario) => usuario.username), requestId };
  } catch (error) {
    return { error: ConnectError.from(error).message };
  }
}

/** The same through the REST gateway, with fetch and JSON. */
async function restLoginAndList(gatewayUrl: string, username: string, password: string): Promise<Outcome> {
  try {
    const login = await fetch(`${gatewayUrl}/v1/auth:login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const listed = await fetch(`${gatewayUrl}/v1/usuarios?pageSize=10`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    const { usuarios } = (await listed.json()) as { usuarios: { username: string }[] };
    return {
      usernames: usuarios.map((usuario) => usuario.username),
      requestId: listed.headers.get("x-request-id"),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

(globalThis as { consorcio?: unknown }).consorcio = { loginAndList, restLoginAndList };
