/**
 * Whether two paths name the same file: by device and inode (hard links) or by real path
 * (symlinks, `..`, letter case on case-insensitive disks). A path that does not exist yet is no
 * existing file.
 */
import { realpath, stat } from 'node:fs/promises';

export async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([a, b].map((p) => stat(p, { bigint: true }).catch(() => null)));
  if (!sa || !sb) return false;
  if (sa.ino !== 0n && sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const [ra, rb] = await Promise.all([realpath(a), realpath(b)]);
  return ra === rb;
}
