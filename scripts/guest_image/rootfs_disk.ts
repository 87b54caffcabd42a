/**
 * The guest root filesystem as a read-only ext4 disk image with a dm-verity hash tree appended
 * (host/vm/rootfs_image.ts explains why), plus the small stage-1 initramfs that opens it:
 *
 * - `rootfs.img`: `mkfs.ext4 -d` of the assembled root (no journal, fixed UUID and hash seed: two
 *   images of one tree are identical; a rebuilt tree differs in inode change times), then
 *   `veritysetup format --no-superblock` with the hash tree after the data; `rootfs.img.verity` holds the parameters in Kata's syntax.
 * - stage-1 `/init`: loads the block, dm and filesystem modules, finds the disk by its serial,
 *   `veritysetup open` with the parameters from the kernel command line only, mounts it read-only
 *   under a tmpfs overlay (the guest can write, the image stays intact) and switch_roots into it.
 *   Any failure powers the VM off: a guest never runs from an unverified root.
 *
 * @module
 */
import { formatVerityParams, type VerityParams } from "../../host/vm/rootfs_image.ts";

/** ext4 block size = dm-verity data and hash block size. */
export const BLOCK = 4096;
/** Fixed identity of the filesystem (no random UUID or hash seed in the image). */
const FS_UUID = "00000000-0000-0000-0000-00000000c0c0";

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

/** True when `mkfs.ext4` and `veritysetup` are installed (else the build makes an initrd only). */
export async function diskToolsPresent(): Promise<boolean> {
  for (const tool of ["mkfs.ext4", "veritysetup"]) {
    const ok = await new Deno.Command("sh", {
      args: ["-c", `command -v ${tool}`],
      stdout: "null",
      stderr: "null",
    }).output().then((o) => o.success, () => false);
    if (!ok) return false;
  }
  return true;
}

/** Bytes used under `dir` (apparent sizes, as `du -sb`). */
async function duBytes(dir: string): Promise<number> {
  return Number((await run("du", ["-sb", dir])).split(/\s/)[0]);
}

/** The `Root hash:` line of `veritysetup format` output. */
export function parseRootHash(output: string): string {
  const m = /^Root hash:\s+([0-9a-f]{64})\s*$/m.exec(output);
  if (!m) throw new Error(`veritysetup format printed no root hash:\n${output}`);
  return m[1]!;
}

/** Builds `image` from `root` and appends its hash tree; returns the verity parameters. */
export async function buildRootfsImage(root: string, image: string): Promise<VerityParams> {
  // Room for ext4 metadata and the inode tables, and a little slack.
  const used = await duBytes(root);
  const blocks = Math.ceil((used * 1.12 + 24 * 1024 * 1024) / BLOCK);
  await Deno.remove(image).catch(() => {});
  await run("mkfs.ext4", [
    "-q",
    "-F",
    "-d",
    root,
    "-b",
    String(BLOCK),
    "-O",
    "^has_journal,^resize_inode",
    "-L",
    "cocoroot",
    "-m",
    "0",
    "-U",
    FS_UUID,
    "-E",
    `hash_seed=${FS_UUID},root_owner=0:0`,
    image,
    String(blocks),
  ]);
  const dataBytes = (await Deno.stat(image)).size;
  // A fixed salt: the root hash depends on the tree only; it need not be secret.
  const salt = "c0c0".repeat(16);
  const out = await run("veritysetup", [
    "format",
    "--no-superblock",
    "--hash=sha256",
    `--data-block-size=${BLOCK}`,
    `--hash-block-size=${BLOCK}`,
    `--data-blocks=${dataBytes / BLOCK}`,
    `--hash-offset=${dataBytes}`,
    `--salt=${salt}`,
    image,
    image,
  ]);
  return {
    rootHash: parseRootHash(out),
    salt,
    dataBlocks: dataBytes / BLOCK,
    dataBlockSize: BLOCK,
    hashBlockSize: BLOCK,
    hashOffset: dataBytes,
  };
}

/** `veritysetup verify` in user space: throws when any block does not match `p`. */
export async function verifyRootfsImage(image: string, p: VerityParams): Promise<void> {
  await run("veritysetup", [
    "verify",
    "--no-superblock",
    "--hash=sha256",
    `--data-block-size=${p.dataBlockSize}`,
    `--hash-block-size=${p.hashBlockSize}`,
    `--data-blocks=${p.dataBlocks}`,
    `--hash-offset=${p.hashOffset}`,
    `--salt=${p.salt}`,
    image,
    image,
    p.rootHash,
  ]);
}

/** Writes `<image>.verity` (what host/vm reads when the config names no parameters). */
export async function writeVeritySidecar(image: string, p: VerityParams): Promise<void> {
  await Deno.writeTextFile(`${image}.verity`, formatVerityParams(p) + "\n");
}

/** The stage-1 `/init` of the small initramfs (busybox sh). */
export function stage1InitScript(kver: string): string {
  return `#!/bin/busybox sh
# coco-guest stage 1: open the root filesystem disk (serial coco-rootfs) through dm-verity with the
# parameters of the measured kernel command line, mount it read-only under a tmpfs overlay, and
# switch to it. Every failure powers the VM off: nothing runs from an unverified root.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin DM_DISABLE_UDEV=1
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
fail() {
  echo "<0>coco-init: $*" > /dev/kmsg
  /bin/busybox poweroff -f
  exit 1
}
while read -r m; do
  /bin/busybox insmod "/lib/modules/${kver}/$m" 2>/dev/null
done < /etc/coco/modules
spec=""
for w in $(/bin/busybox cat /proc/cmdline); do
  case "$w" in coco.rootfs=*) spec="\${w#coco.rootfs=}" ;; esac
done
[ -n "$spec" ] || fail "no coco.rootfs= on the kernel command line"
dev=""
n=0
while [ -z "$dev" ] && [ $n -lt 300 ]; do
  for b in /sys/block/vd*; do
    [ "$(/bin/busybox cat "$b/serial" 2>/dev/null)" = coco-rootfs ] && dev="/dev/\${b##*/}"
  done
  [ -n "$dev" ] || /bin/busybox sleep 0.1
  n=$((n + 1))
done
[ -n "$dev" ] || fail "no disk with serial coco-rootfs"
case "$spec" in
  verity:*)
    IFS=: read -r _ hash salt blocks dbs hbs off <<EOF
$spec
EOF
    /sbin/veritysetup open "$dev" cocoroot "$dev" "$hash" --no-superblock --hash=sha256 \\
      --data-blocks="$blocks" --data-block-size="$dbs" --hash-block-size="$hbs" \\
      --hash-offset="$off" --salt="$salt" || fail "dm-verity refused the root filesystem on $dev"
    root=/dev/mapper/cocoroot
    ;;
  plain) root="$dev" ;;
  *) fail "unknown coco.rootfs=$spec" ;;
esac
/bin/busybox mkdir -p /lower /upper /newroot
/bin/busybox mount -t ext4 -o ro "$root" /lower || fail "cannot mount $root"
/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /upper
/bin/busybox mkdir -p /upper/data /upper/work
/bin/busybox mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work \\
  /newroot || fail "cannot mount the root overlay"
echo "<3>coco-init: root filesystem $spec mounted" > /dev/kmsg
/bin/busybox umount /proc /sys
/bin/busybox umount -l /dev
exec /bin/busybox switch_root /newroot /init
`;
}
