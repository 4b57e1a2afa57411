/**
 * Whether a watched folder's file events can be trusted, from the type of the filesystem it is on
 * (statfs(2)'s magic number, Node's `fs.statfs().type`), and so whether `watch` polls.
 *
 * inotify reports only changes made through this machine's kernel: on a network or shared
 * filesystem, a change made by another client, the host of a VM or the other side of a FUSE
 * daemon can be missed (chokidar#1382, microsoft/WSL#4739). There polling is on unless configured
 * off. Only the root's filesystem is read: a mount inside the tree is not looked for.
 *
 * Overlayfs (`OVERLAYFS_SUPER_MAGIC` 0x794c7630) is not in the list: a Docker container's root
 * is overlay, and inotify reports every write made inside the container (through the overlay);
 * what it misses is a write to a lower layer behind the overlay's back, which the kernel
 * documents as undefined behaviour anyway. A bind mount into a container on a Linux host keeps
 * the host folder's type (ext4, ...) and shares the host's kernel, so its events arrive; one from
 * Docker Desktop's VM reports `fakeowner`, which is in the list. Elsewhere than Linux the type
 * means nothing here: no detection.
 */
import { statfs } from 'node:fs/promises';

/**
 * Filesystems whose events are unreliable, by magic number. Each is `include/uapi/linux/magic.h`'s
 * (Linux 6.1) unless said otherwise.
 */
const UNRELIABLE = new Map<number, string>([
  [0x6969, 'nfs'], // NFS_SUPER_MAGIC
  [0x517b, 'smb'], // SMB_SUPER_MAGIC (the old smbfs)
  [0xff534d42, 'cifs'], // CIFS_SUPER_MAGIC (the cifs client, SMB1)
  [0xfe534d42, 'smb2'], // SMB2_SUPER_MAGIC (the cifs client, SMB2 and 3)
  [0x01021997, '9p'], // V9FS_MAGIC: WSL 2's Windows drives (/mnt/c), QEMU shares
  // FUSE_SUPER_MAGIC: sshfs, rclone, s3fs, gvfs, and virtiofs (built on FUSE: no magic of its own); also
  // local ones whose events do arrive (ntfs-3g, mergerfs): polling costs them CPU, not changes.
  [0x65735546, 'fuse'],
  [0x00c36400, 'ceph'], // CEPH_SUPER_MAGIC
  [0x5346414f, 'afs'], // AFS_SUPER_MAGIC (OpenAFS)
  [0x6b414653, 'afs'], // AFS_FS_MAGIC (the kernel's kAFS)
  // Not in magic.h: what Docker Desktop's VM reports for a host folder bind-mounted into a container
  // (`stat -f` says UNKNOWN (0x6a656a63), /proc/mounts `fakeowner`); changes made on the host cross a VM.
  [0x6a656a63, "Docker Desktop's host share (fakeowner)"],
]);

/**
 * The name of a filesystem whose file events are unreliable, from its statfs magic number; undefined
 * for any other (ext4, xfs, btrfs, tmpfs, overlay, ...). Takes the number as statfs gives it, also
 * sign-extended (a 32-bit `f_type`).
 */
export function unreliableFilesystem(type: number | bigint): string | undefined {
  return UNRELIABLE.get(Number(BigInt.asUintN(32, BigInt(type))));
}

/**
 * The statfs magic number of the filesystem `dir` is on; undefined off Linux, or when statfs fails
 * (the watcher then reports what is wrong with the folder).
 */
export async function filesystemType(dir: string, platform: NodeJS.Platform = process.platform): Promise<bigint | undefined> {
  if (platform !== 'linux') return undefined;
  try {
    return (await statfs(dir, { bigint: true })).type;
  } catch {
    return undefined;
  }
}

/** How `watch` watches: `pollMs` 0 is by events; `why`, when there is something to say, is one log line. */
export interface WatchMode {
  pollMs: number;
  why?: string;
}

/**
 * The decision, pure: `configured` is `watch.pollMs` (`--poll [ms]`, `RAGSYNC_POLL_MS`), undefined
 * when not set (auto), 0 for off; `filesystem` is `unreliableFilesystem`'s name for the folder's;
 * auto polls every `autoMs`.
 */
export function watchMode(configured: number | undefined, filesystem: string | undefined, autoMs: number): WatchMode {
  const on = filesystem ? `the folder is on ${filesystem}, where file events are unreliable` : undefined;
  if (configured === undefined) {
    if (!on) return { pollMs: 0 };
    return { pollMs: autoMs, why: `${on}: watching by polling every ${autoMs} ms (--poll 0 turns it off)` };
  }
  if (configured === 0) {
    return on ? { pollMs: 0, why: `${on}, but polling is off (--poll 0): changes may wait for the next reconcile` } : { pollMs: 0 };
  }
  return { pollMs: configured, why: `watching by polling every ${configured} ms${on ? ` (${on})` : ''}` };
}

/** `watchMode` for the folder `dir`, reading its filesystem's type. */
export async function watchModeOf(dir: string, configured: number | undefined, autoMs: number): Promise<WatchMode> {
  const type = await filesystemType(dir);
  return watchMode(configured, type === undefined ? undefined : unreliableFilesystem(type), autoMs);
}
