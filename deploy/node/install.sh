#!/bin/sh
# CoCo Deno node installer (the DaemonSet's init container; also usable by hand on a node).
# Copies $COCO_SOURCE (install-host output for prefix /opt/coco) to $COCO_TARGET, keeping an
# existing etc/coco-host/config.toml, then prints the containerd 1.6 snippet and, when
# MERGE_CONTAINERD_CONFIG=true, appends it once to $CONTAINERD_CONFIG (backup: .bak-coco).
set -eu
src=${COCO_SOURCE:?COCO_SOURCE must name the install-host output}
dst=${COCO_TARGET:?COCO_TARGET must name where /opt/coco is on the node}
cfg=${CONTAINERD_CONFIG:-/host/etc/containerd/config.toml}
prefix=${COCO_PREFIX:-/opt/coco}
marker="# --- coco-deno runtime (managed by coco-node-installer) ---"

[ -x "$src/bin/containerd-shim-coco-v2" ] || { echo "install.sh: $src has no bin/containerd-shim-coco-v2" >&2; exit 2; }
mkdir -p "$dst"
if [ -f "$dst/etc/coco-host/config.toml" ]; then
  keep=$(mktemp)
  cp "$dst/etc/coco-host/config.toml" "$keep"
  cp -a "$src/." "$dst/"
  cp "$keep" "$dst/etc/coco-host/config.toml"
  rm -f "$keep"
else
  cp -a "$src/." "$dst/"
fi
mkdir -p "$dst/run" "$dst/var/lib/coco-snapshotter"

snippet="$marker
[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.coco]
  runtime_type = \"io.containerd.coco.v2\"
  runtime_path = \"$prefix/bin/containerd-shim-coco-v2\"
  privileged_without_host_devices = true
  pod_annotations = [\"io.katacontainers.*\"]
[proxy_plugins.coco]
  type = \"snapshot\"
  address = \"$prefix/run/snapshotter.sock\""

echo "installed $src -> $dst"
echo "containerd 1.6 snippet (also set disable_snapshot_annotations = false and snapshotter = \"coco\" under [plugins.\"io.containerd.grpc.v1.cri\".containerd]):"
echo "$snippet"
if [ "${MERGE_CONTAINERD_CONFIG:-false}" = "true" ]; then
  if [ -f "$cfg" ] && grep -qF "$marker" "$cfg"; then
    echo "$cfg already has the coco runtime; left unchanged"
  else
    [ -f "$cfg" ] && cp "$cfg" "$cfg.bak-coco"
    printf '\n%s\n' "$snippet" >>"$cfg"
    echo "appended the coco runtime to $cfg; restart containerd on the node to load it"
  fi
fi
