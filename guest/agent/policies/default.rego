# CoCo Deno default agent policy (guest/agent/README.md, "Default policy").
#
# Allows what a normal pod needs. For *confidential* containers (rootfs pulled inside the guest:
# a storage with driver image_guest_pull) it denies ExecProcess and reading stdout/stderr, unless
# policy_data says otherwise. Host-supplied mounts must be kernel filesystems or binds from the
# agent's own directories; OCI hooks are refused (they would run host-chosen binaries as root).
package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

policy_data := {
	"allow_exec_in_confidential": false,
	"allow_stdio_from_confidential": false,
	"bind_source_prefixes": ["/run/kata-containers/", "/dev/shm"],
	"copy_file_root": "/run/kata-containers/shared/containers/",
	"mount_types": ["proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"],
}

default CreateSandboxRequest := true
default DestroySandboxRequest := true
default StartContainerRequest := true
default RemoveContainerRequest := true
default SignalProcessRequest := true
default WaitProcessRequest := true
default UpdateContainerRequest := true
default StatsContainerRequest := true
default ListProcessesRequest := true
default PauseContainerRequest := true
default ResumeContainerRequest := true
default WriteStreamRequest := true
default CloseStdinRequest := true
default TtyWinResizeRequest := true
default GuestDetailsRequest := true
default GetOOMEventRequest := true
default UpdateInterfaceRequest := true
default UpdateRoutesRequest := true
default ListInterfacesRequest := true
default ListRoutesRequest := true
default AddARPNeighborsRequest := true
default OnlineCPUMemRequest := true
default SetGuestDateTimeRequest := true
default GetMetricsRequest := true
default CopyFileRequest := false
default SetPolicyRequest := true
default UpdateEphemeralMountsRequest := false
default GetDiagnosticDataRequest := false

default CreateContainerRequest := {"allowed": false}

CreateContainerRequest := {"allowed": true, "ops": ops} if {
	no_hooks
	every m in input.OCI.Mounts {
		mount_allowed(m)
	}
	ops := [{
		"op": "add",
		"path": concat("/", ["", "pstate", input.container_id]),
		"value": {"confidential": guest_pulled},
	}]
}

guest_pulled := true if {
	some s in input.storages
	s.driver == "image_guest_pull"
} else := false

no_hooks if is_null(input.OCI.Hooks)

no_hooks if {
	h := input.OCI.Hooks
	every k, v in h {
		count(v) == 0
	}
}

mount_allowed(m) if {
	not bind_mount(m)
	m.type_ in policy_data.mount_types
}

mount_allowed(m) if {
	bind_mount(m)
	some p in policy_data.bind_source_prefixes
	startswith(m.source, p)
	not contains(m.source, "..")
}

bind_mount(m) if m.type_ == "bind"

bind_mount(m) if "bind" in m.options

bind_mount(m) if "rbind" in m.options

confidential(cid) if data.pstate[cid].confidential == true

default ExecProcessRequest := false

ExecProcessRequest if not confidential(input.container_id)

ExecProcessRequest if policy_data.allow_exec_in_confidential

default ReadStreamRequest := false

ReadStreamRequest if not confidential(input.container_id)

ReadStreamRequest if policy_data.allow_stdio_from_confidential

RemoveContainerRequest := {"allowed": true, "ops": [{
	"op": "remove",
	"path": concat("/", ["", "pstate", input.container_id]),
}]} if {
	data.pstate[input.container_id]
}

# Host files copied in when there is no shared filesystem (hosts, hostname, resolv.conf,
# ConfigMaps, Secrets): only under the copy root, named <container id>-<16 hex>-<name> as the
# runtime names them (upstream's rule), no `..`, regular files, directories and symlinks only
# (the agent also refuses absolute symlink targets).
CopyFileRequest if {
	startswith(input.path, policy_data.copy_file_root)
	name := trim_prefix(input.path, policy_data.copy_file_root)
	regex.match(`^(watchable/)?[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{16}-[^/]+(/[^/]+)*$`, name)
	not ".." in split(name, "/")
	input.file_type in {"Regular", "Directory", "Symlink"}
}
