/**
 * The bundle's OCI `config.json` → the agent API's `grpc.Spec` (oci.proto), as Kata's runtime
 * sends it: namespace paths (host namespaces mean nothing in the guest), hooks (host binaries)
 * and the AppArmor profile (the guest has none) are dropped; `Root.Path` is chosen by the shim.
 * Unknown members are ignored; members present with the wrong type are errors naming the field.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { bool, num, obj, optStr, str, strArray } from "@coco/lib/json/fields";
import type { oci } from "@coco/lib/proto";
import { shimError } from "./errors.ts";

type J = Record<string, unknown>;
/** The agent's `grpc.Spec` as an init object. */
export type AgentSpec = MessageInitShape<typeof oci.SpecSchema>;
/** The agent's `grpc.Process` as an init object. */
export type AgentProcess = MessageInitShape<typeof oci.ProcessSchema>;
/** The agent's `grpc.LinuxResources` as an init object. */
export type AgentResources = MessageInitShape<typeof oci.LinuxResourcesSchema>;

const o = (v: unknown, p: string): J | undefined => v == null ? undefined : obj(v, p);
const arr = (v: unknown, p: string): unknown[] => {
  if (v == null) return [];
  if (!Array.isArray(v)) throw new TypeError(`${p} must be an array`);
  return v;
};
const strs = (v: unknown, p: string): string[] => v == null ? [] : strArray(v, p);
const n = (v: unknown, p: string): number => v == null ? 0 : num(v, p);
const big = (v: unknown, p: string): bigint => BigInt(Math.trunc(n(v, p)));
const s = (v: unknown, p: string): string => optStr(v, p) ?? "";
const b = (v: unknown, p: string): boolean => v == null ? false : bool(v, p);

function strMap(v: unknown, p: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o(v, p) ?? {})) out[k] = str(x, `${p}.${k}`);
  return out;
}

/** OCI `process` → `grpc.Process`. */
export function processFromOci(raw: unknown, p = "process"): AgentProcess {
  const x = obj(raw, p);
  const user = o(x.user, `${p}.user`) ?? {};
  const caps = o(x.capabilities, `${p}.capabilities`);
  const size = o(x.consoleSize, `${p}.consoleSize`);
  return {
    Terminal: b(x.terminal, `${p}.terminal`),
    ...(size ? { ConsoleSize: { Height: n(size.height, "h"), Width: n(size.width, "w") } } : {}),
    User: {
      UID: n(user.uid, `${p}.user.uid`),
      GID: n(user.gid, `${p}.user.gid`),
      AdditionalGids: arr(user.additionalGids, `${p}.user.additionalGids`).map((g, i) =>
        num(g, `${p}.user.additionalGids[${i}]`)
      ),
      Username: s(user.username, `${p}.user.username`),
    },
    Args: strs(x.args, `${p}.args`),
    Env: strs(x.env, `${p}.env`),
    Cwd: s(x.cwd, `${p}.cwd`) || "/",
    ...(caps
      ? {
        Capabilities: {
          Bounding: strs(caps.bounding, "bounding"),
          Effective: strs(caps.effective, "effective"),
          Inheritable: strs(caps.inheritable, "inheritable"),
          Permitted: strs(caps.permitted, "permitted"),
          Ambient: strs(caps.ambient, "ambient"),
        },
      }
      : {}),
    Rlimits: arr(x.rlimits, `${p}.rlimits`).map((r, i) => {
      const y = obj(r, `${p}.rlimits[${i}]`);
      return { Type: str(y.type, "type"), Hard: big(y.hard, "hard"), Soft: big(y.soft, "soft") };
    }),
    NoNewPrivileges: b(x.noNewPrivileges, `${p}.noNewPrivileges`),
    OOMScoreAdj: big(x.oomScoreAdj, `${p}.oomScoreAdj`),
    SelinuxLabel: s(x.selinuxLabel, `${p}.selinuxLabel`),
  };
}

/** OCI `linux.resources` → `grpc.LinuxResources`. */
export function resourcesFromOci(raw: unknown, p = "linux.resources"): AgentResources {
  const x = obj(raw, p);
  const mem = o(x.memory, `${p}.memory`);
  const cpu = o(x.cpu, `${p}.cpu`);
  const pids = o(x.pids, `${p}.pids`);
  return {
    Devices: arr(x.devices, `${p}.devices`).map((d, i) => {
      const y = obj(d, `${p}.devices[${i}]`);
      return {
        Allow: b(y.allow, "allow"),
        Type: s(y.type, "type"),
        Major: big(y.major ?? -1, "major"),
        Minor: big(y.minor ?? -1, "minor"),
        Access: s(y.access, "access"),
      };
    }),
    ...(mem
      ? {
        Memory: {
          Limit: big(mem.limit, "memory.limit"),
          Reservation: big(mem.reservation, "memory.reservation"),
          Swap: big(mem.swap, "memory.swap"),
          Swappiness: big(mem.swappiness, "memory.swappiness"),
          DisableOOMKiller: b(mem.disableOOMKiller, "memory.disableOOMKiller"),
        },
      }
      : {}),
    ...(cpu
      ? {
        CPU: {
          Shares: big(cpu.shares, "cpu.shares"),
          Quota: big(cpu.quota, "cpu.quota"),
          Period: big(cpu.period, "cpu.period"),
          Cpus: s(cpu.cpus, "cpu.cpus"),
          Mems: s(cpu.mems, "cpu.mems"),
        },
      }
      : {}),
    ...(pids ? { Pids: { Limit: big(pids.limit, "pids.limit") } } : {}),
  };
}

function linuxFromOci(x: J) {
  const res = o(x.resources, "linux.resources");
  const seccomp = o(x.seccomp, "linux.seccomp");
  return {
    Sysctl: strMap(x.sysctl, "linux.sysctl"),
    ...(res ? { Resources: resourcesFromOci(res) } : {}),
    // Kept for policy input only: the agent chooses the guest cgroup itself.
    CgroupsPath: s(x.cgroupsPath, "linux.cgroupsPath"),
    Namespaces: arr(x.namespaces, "linux.namespaces").map((ns, i) => ({
      Type: str(obj(ns, `linux.namespaces[${i}]`).type, `linux.namespaces[${i}].type`),
      Path: "",
    })),
    Devices: arr(x.devices, "linux.devices").map((d, i) => {
      const y = obj(d, `linux.devices[${i}]`);
      return {
        Path: str(y.path, "path"),
        Type: str(y.type, "type"),
        Major: big(y.major, "major"),
        Minor: big(y.minor, "minor"),
        FileMode: n(y.fileMode, "fileMode"),
        UID: n(y.uid, "uid"),
        GID: n(y.gid, "gid"),
      };
    }),
    ...(seccomp
      ? {
        Seccomp: {
          DefaultAction: s(seccomp.defaultAction, "seccomp.defaultAction"),
          Architectures: strs(seccomp.architectures, "seccomp.architectures"),
          Flags: strs(seccomp.flags, "seccomp.flags"),
          Syscalls: arr(seccomp.syscalls, "seccomp.syscalls").map((c, i) => {
            const y = obj(c, `seccomp.syscalls[${i}]`);
            return {
              Names: strs(y.names, "names"),
              Action: s(y.action, "action"),
              ...(y.errnoRet != null
                ? { ErrnoRet: { case: "errnoret" as const, value: n(y.errnoRet, "errnoRet") } }
                : {}),
              Args: arr(y.args, "args").map((a) => {
                const z = obj(a, "arg");
                return {
                  Index: big(z.index, "index"),
                  Value: big(z.value, "value"),
                  ValueTwo: big(z.valueTwo, "valueTwo"),
                  Op: s(z.op, "op"),
                };
              }),
            };
          }),
        },
      }
      : {}),
    RootfsPropagation: s(x.rootfsPropagation, "linux.rootfsPropagation"),
    MaskedPaths: strs(x.maskedPaths, "linux.maskedPaths"),
    ReadonlyPaths: strs(x.readonlyPaths, "linux.readonlyPaths"),
    MountLabel: s(x.mountLabel, "linux.mountLabel"),
  };
}

/** Parsed bundle config: the agent spec plus what the shim itself needs. */
export interface BundleSpec {
  spec: AgentSpec;
  annotations: Record<string, string>;
  /** `root.path` as written by containerd (relative to the bundle or absolute). */
  rootPath: string;
  terminal: boolean;
}

/** Converts a parsed config.json; `rootPath` becomes the agent's Root.Path. */
export function specFromOci(raw: unknown, rootPath: string): BundleSpec {
  try {
    const x = obj(raw, "config.json");
    const root = o(x.root, "root") ?? {};
    const annotations = strMap(x.annotations, "annotations");
    const linux = o(x.linux, "linux");
    const proc = x.process == null ? undefined : processFromOci(x.process);
    return {
      spec: {
        Version: s(x.ociVersion, "ociVersion"),
        ...(proc ? { Process: proc } : {}),
        Root: { Path: rootPath, Readonly: b(root.readonly, "root.readonly") },
        Hostname: s(x.hostname, "hostname"),
        Mounts: arr(x.mounts, "mounts").map((m, i) => {
          const y = obj(m, `mounts[${i}]`);
          return {
            destination: str(y.destination, `mounts[${i}].destination`),
            source: s(y.source, `mounts[${i}].source`),
            type: s(y.type, `mounts[${i}].type`),
            options: strs(y.options, `mounts[${i}].options`),
          };
        }),
        Annotations: annotations,
        ...(linux ? { Linux: linuxFromOci(linux) } : {}),
      },
      annotations,
      rootPath: s(root.path, "root.path"),
      terminal: proc?.Terminal ?? false,
    };
  } catch (err) {
    throw shimError(
      "bad-bundle",
      `Cannot use the bundle's config.json: ${(err as Error).message}`,
      err,
    );
  }
}

/** Reads `<bundle>/config.json`. */
export async function readBundleConfig(bundle: string): Promise<unknown> {
  const file = `${bundle}/config.json`;
  try {
    return JSON.parse(await Deno.readTextFile(file));
  } catch (err) {
    throw shimError("bad-bundle", `Cannot read ${file}: ${(err as Error).message}`, err);
  }
}

const HOST_ONLY_NAMESPACES = new Set(["network", "cgroup", "time"]);

/**
 * What Kata's runtime strips before a spec goes into a VM (`constrainGRPCSpec`, spec/runtime.md
 * §2.8): the network, cgroup and time namespaces (containers share the guest's network, where
 * api-server-rest listens on loopback), device cgroup rules, pids / block I/O / network limits
 * and the host's CPU and memory-node pinning. Not applied for the `none` backend, whose "guest"
 * is the host.
 */
export function constrainForGuest(spec: AgentSpec): void {
  const linux = spec.Linux;
  if (!linux) return;
  linux.Namespaces = (linux.Namespaces ?? []).filter((ns) =>
    !HOST_ONLY_NAMESPACES.has(ns.Type ?? "")
  );
  const r = linux.Resources;
  if (!r) return;
  r.Devices = [];
  delete r.Pids;
  delete r.BlockIO;
  delete r.Network;
  if (r.CPU) r.CPU = { ...r.CPU, Cpus: "", Mems: "" };
}
