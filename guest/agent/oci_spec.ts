/**
 * Converts the agent API's `grpc.Spec` (oci.proto) into an OCI runtime-spec `config.json`
 * object for runc. Proto3 has no presence for scalars, so zero numbers and empty strings are
 * left out (the runtime's defaults apply), as the Kata agent does for resources.
 */
import type { oci } from "@coco/lib/proto";

/** A JSON object as written to config.json. */
export type Json = { [key: string]: unknown };

const n = (v: bigint | number): number => Number(v);

function compact(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === "" || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) {
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** `process` of config.json from a `grpc.Process`. */
export function processToOci(p: oci.Process): Json {
  const caps = p.Capabilities;
  return {
    terminal: p.Terminal,
    ...(p.ConsoleSize
      ? { consoleSize: { height: p.ConsoleSize.Height, width: p.ConsoleSize.Width } }
      : {}),
    user: compact({
      uid: p.User?.UID ?? 0,
      gid: p.User?.GID ?? 0,
      additionalGids: p.User?.AdditionalGids ?? [],
      username: p.User?.Username ?? "",
    }),
    args: p.Args,
    env: p.Env,
    cwd: p.Cwd || "/",
    ...(caps
      ? {
        capabilities: {
          bounding: caps.Bounding,
          effective: caps.Effective,
          inheritable: caps.Inheritable,
          permitted: caps.Permitted,
          ambient: caps.Ambient,
        },
      }
      : {}),
    ...compact({
      rlimits: p.Rlimits.map((r) => ({ type: r.Type, hard: n(r.Hard), soft: n(r.Soft) })),
      noNewPrivileges: p.NoNewPrivileges || undefined,
      apparmorProfile: p.ApparmorProfile,
      oomScoreAdj: n(p.OOMScoreAdj),
      selinuxLabel: p.SelinuxLabel,
    }),
  };
}

/** `linux.resources` of config.json from `grpc.LinuxResources`. */
export function resourcesToOci(r: oci.LinuxResources): Json {
  const m = r.Memory;
  const c = r.CPU;
  return compact({
    devices: r.Devices.map((d) =>
      compact({
        allow: d.Allow,
        type: d.Type,
        major: d.Major === -1n ? undefined : n(d.Major),
        minor: d.Minor === -1n ? undefined : n(d.Minor),
        access: d.Access,
      })
    ).map((d) => ({ allow: false, ...d })),
    memory: m
      ? compact({
        limit: n(m.Limit),
        reservation: n(m.Reservation),
        swap: n(m.Swap),
        swappiness: n(m.Swappiness),
        disableOOMKiller: m.DisableOOMKiller || undefined,
      })
      : undefined,
    cpu: c
      ? compact({
        shares: n(c.Shares),
        quota: n(c.Quota),
        period: n(c.Period),
        realtimeRuntime: n(c.RealtimeRuntime),
        realtimePeriod: n(c.RealtimePeriod),
        cpus: c.Cpus,
        mems: c.Mems,
      })
      : undefined,
    pids: r.Pids && r.Pids.Limit !== 0n ? { limit: n(r.Pids.Limit) } : undefined,
    hugepageLimits: r.HugepageLimits.map((h) => ({ pageSize: h.Pagesize, limit: n(h.Limit) })),
  });
}

function seccompToOci(s: oci.LinuxSeccomp): Json {
  return compact({
    defaultAction: s.DefaultAction,
    architectures: s.Architectures,
    flags: s.Flags,
    syscalls: s.Syscalls.map((sc) =>
      compact({
        names: sc.Names,
        action: sc.Action,
        errnoRet: sc.ErrnoRet.case === "errnoret" ? sc.ErrnoRet.value : undefined,
        args: sc.Args.map((a) => ({
          index: n(a.Index),
          value: n(a.Value),
          valueTwo: n(a.ValueTwo),
          op: a.Op,
        })),
      })
    ),
  });
}

function linuxToOci(l: oci.Linux): Json {
  const idMap = (m: oci.LinuxIDMapping) => ({
    hostID: m.HostID,
    containerID: m.ContainerID,
    size: m.Size,
  });
  return compact({
    uidMappings: l.UIDMappings.map(idMap),
    gidMappings: l.GIDMappings.map(idMap),
    sysctl: l.Sysctl,
    resources: l.Resources ? resourcesToOci(l.Resources) : undefined,
    cgroupsPath: l.CgroupsPath,
    namespaces: l.Namespaces.map((ns) => compact({ type: ns.Type, path: ns.Path })),
    devices: l.Devices.map((d) =>
      compact({
        path: d.Path,
        type: d.Type,
        major: n(d.Major),
        minor: n(d.Minor),
        fileMode: d.FileMode,
        uid: d.UID,
        gid: d.GID,
      })
    ),
    seccomp: l.Seccomp ? seccompToOci(l.Seccomp) : undefined,
    rootfsPropagation: l.RootfsPropagation,
    maskedPaths: l.MaskedPaths,
    readonlyPaths: l.ReadonlyPaths,
    mountLabel: l.MountLabel,
  });
}

/**
 * config.json for a container. `rootPath` replaces `Root.Path` (the agent decides where the
 * rootfs is); `hostname` is kept only with a UTS namespace; hooks are never copied (the policy
 * refuses them, and the agent would not run them).
 */
export function specToOci(spec: oci.Spec, rootPath: string): Json {
  return compact({
    ociVersion: spec.Version || "1.0.2",
    process: spec.Process ? processToOci(spec.Process) : undefined,
    root: { path: rootPath, readonly: spec.Root?.Readonly ?? false },
    // Only a private UTS namespace can take a hostname (runc refuses otherwise); without one
    // (a hostNetwork pod) the container keeps the guest's, as Kata's rustjail does.
    hostname: spec.Linux?.Namespaces.some((n) => n.Type === "uts") ? spec.Hostname : undefined,
    mounts: spec.Mounts.map((m) =>
      compact({ destination: m.destination, type: m.type, source: m.source, options: m.options })
    ),
    annotations: spec.Annotations,
    linux: spec.Linux ? linuxToOci(spec.Linux) : undefined,
  });
}
