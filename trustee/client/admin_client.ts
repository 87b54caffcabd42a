/** Admin calls of the `kbs-client config …` surface over HTTP. */
import { readKbsFailure } from "@coco/lib/kbs";

export interface AdminClientOptions {
  url: string;
  token?: string;
  caCert?: string;
}

export class AdminClient {
  #base: string;
  #token: string | undefined;
  #http: Deno.HttpClient | undefined;
  constructor(opts: AdminClientOptions) {
    this.#base = opts.url.replace(/\/+$/, "");
    this.#token = opts.token;
    if (opts.caCert) this.#http = Deno.createHttpClient({ caCerts: [opts.caCert] });
  }

  close(): void {
    this.#http?.close();
  }

  async request(
    method: string,
    path: string,
    body?: BodyInit,
    contentType = "application/json",
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers["Content-Type"] = contentType;
    const res = await fetch(`${this.#base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(this.#http ? { client: this.#http } : {}),
    } as RequestInit);
    if (!res.ok) {
      const f = await readKbsFailure(res);
      throw new Error(`${method} ${path} failed (HTTP ${f.status}): ${f.detail}`);
    }
    return res;
  }

  async setResource(path: string, bytes: Uint8Array): Promise<void> {
    await (await this.request(
      "POST",
      `/kbs/v0/resource/${path}`,
      bytes as Uint8Array<ArrayBuffer>,
      "application/octet-stream",
    )).body?.cancel();
  }

  async deleteResource(path: string): Promise<void> {
    await (await this.request("DELETE", `/kbs/v0/resource/${path}`)).body?.cancel();
  }

  async setResourcePolicy(text: string): Promise<void> {
    const policy = new TextEncoder().encode(text).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    await (await this.request("POST", "/kbs/v0/resource-policy", JSON.stringify({ policy }))).body
      ?.cancel();
  }

  async setAttestationPolicy(id: string, text: string): Promise<void> {
    const policy = new TextEncoder().encode(text).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    const body = JSON.stringify({ policy_id: id, policy, type: "rego" });
    await (await this.request("POST", "/kbs/v0/attestation-policy", body)).body?.cancel();
  }

  async setSampleReferenceValue(name: string, value: unknown): Promise<void> {
    const payload = new TextEncoder().encode(JSON.stringify({ [name]: value })).toBase64();
    const body = JSON.stringify({ version: "0.1.0", type: "sample", payload });
    await (await this.request("POST", "/kbs/v0/reference-value", body)).body?.cancel();
  }

  async getReferenceValue(id: string): Promise<unknown> {
    return await (await this.request("GET", `/kbs/v0/reference-value/${id}`)).json();
  }
}
