/**
 * A tiny in-process fake of HashiCorp Vault's **KV v1** HTTP API, for tests (Vault is not
 * packaged for this machine). Implements exactly what the KV v1 engine documents:
 * `GET|POST|PUT|DELETE /v1/<mount>/<path>` and `LIST` (or `GET ?list=true`) returning
 * `{"data": {"keys": [...]}}` with sub-folders suffixed by `/`; `X-Vault-Token` is checked
 * (403 `permission denied`), unknown paths are 404 `{"errors": []}`.
 *
 * @module
 */

/** A running fake Vault. */
export interface FakeVault {
  url: string;
  token: string;
  mount: string;
  /** The stored secrets by path under the mount (what Vault would hold). */
  secrets: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** Starts the fake on 127.0.0.1 with a random port and token. */
export function startFakeVault(mount = "secret"): FakeVault {
  const token = crypto.randomUUID();
  const secrets = new Map<string, Record<string, unknown>>();
  const prefix = `/v1/${mount}/`;
  const list = (folder: string) => {
    const keys = new Set<string>();
    for (const path of secrets.keys()) {
      if (!path.startsWith(folder)) continue;
      const rest = path.slice(folder.length);
      const slash = rest.indexOf("/");
      keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    return keys.size ? json(200, { data: { keys: [...keys].sort() } }) : json(404, { errors: [] });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.headers.get("X-Vault-Token") !== token) {
      return json(403, { errors: ["permission denied"] });
    }
    const url = new URL(req.url);
    if (!url.pathname.startsWith(prefix)) return json(404, { errors: ["no handler for route"] });
    const path = decodeURIComponent(url.pathname.slice(prefix.length));
    const isList = req.method === "LIST" ||
      (req.method === "GET" && url.searchParams.get("list") === "true");
    if (isList) return list(path === "" || path.endsWith("/") ? path : `${path}/`);
    switch (req.method) {
      case "GET": {
        const s = secrets.get(path);
        return s
          ? json(200, { data: s, lease_duration: 2764800, renewable: false })
          : json(404, { errors: [] });
      }
      case "POST":
      case "PUT": {
        let body: unknown;
        try {
          body = await req.json();
        } catch {
          return json(400, { errors: ["failed to parse JSON input"] });
        }
        if (typeof body !== "object" || body === null || Array.isArray(body)) {
          return json(400, { errors: ["data must be an object"] });
        }
        secrets.set(path, body as Record<string, unknown>);
        return new Response(null, { status: 204 });
      }
      case "DELETE":
        secrets.delete(path);
        return new Response(null, { status: 204 });
      default:
        return json(405, { errors: ["unsupported operation"] });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    mount,
    secrets,
    close: () => server.shutdown(),
  };
}
