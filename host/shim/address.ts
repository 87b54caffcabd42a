/**
 * The shim's socket address and the bundle files containerd reads (spec/runtime.md §5.2):
 * `unix://<socket dir>/<hex(sha256(<containerd address>/<ns>/<id>))>`, pod grouping from the
 * bundle's CRI annotations, and `address` / `shim.pid` written atomically.
 */
import { join, normalize } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { shimError } from "./errors.ts";

/** Where containerd 1.6+ puts shim sockets. */
export const DEFAULT_SOCKET_DIR = "/run/containerd/s";

/** Longest unix socket path the kernel accepts (sun_path minus the NUL). */
const MAX_SOCKET_PATH = 106;

/** `unix://…` address of the shim for task `id` in namespace `ns`. */
export function socketAddress(
  containerdAddress: string,
  ns: string,
  id: string,
  socketDir = DEFAULT_SOCKET_DIR,
): string {
  // Go's filepath.Join cleans the joined path; normalize does the same for these inputs.
  const joined = normalize(`${containerdAddress}/${ns}/${id}`).replace(/\/+$/, "");
  const hex = sha256(new TextEncoder().encode(joined)).toHex();
  const path = join(socketDir, hex);
  if (path.length > MAX_SOCKET_PATH) {
    throw shimError(
      "bad-config",
      `Shim socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter socket_dir`,
    );
  }
  return `unix://${path}`;
}

/** The filesystem path of a `unix://` address. */
export function socketPath(address: string): string {
  return address.replace(/^unix:\/\//, "");
}

/** Pod identity from the bundle's config.json annotations (CRI, CRI-O). */
export interface PodRole {
  kind: "sandbox" | "container" | "single";
  /** Sandbox id for pod containers; the task id otherwise. */
  sandboxId: string;
}

/** Reads the pod role from OCI annotations. */
export function podRole(id: string, annotations: Record<string, string>): PodRole {
  const type = annotations["io.kubernetes.cri.container-type"] ??
    annotations["io.kubernetes.cri-o.ContainerType"];
  if (type === "sandbox") return { kind: "sandbox", sandboxId: id };
  if (type === "container") {
    const sid = annotations["io.kubernetes.cri.sandbox-id"] ??
      annotations["io.kubernetes.cri-o.SandboxID"];
    if (!sid) {
      throw shimError(
        "bad-bundle",
        `Container ${id} is a pod container but has no io.kubernetes.cri.sandbox-id annotation`,
      );
    }
    return { kind: "container", sandboxId: sid };
  }
  if (type !== undefined) {
    throw shimError("bad-bundle", `Unknown io.kubernetes.cri.container-type "${type}"`);
  }
  return { kind: "single", sandboxId: id };
}

/** Writes `text` to `dir/name` through a temporary file and a rename (never half-written). */
export async function writeAtomic(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.${crypto.randomUUID()}`);
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o644 });
    await Deno.rename(tmp, join(dir, name));
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
