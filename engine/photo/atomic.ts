/**
 * Atomic file replacement: the data goes to a temporary file in the target's folder, is flushed
 * to disk, then renamed over the target. rename() within one filesystem is atomic, so readers and
 * a crash at any point see either the old file or the complete new one, never a partial write.
 * A crash can leave a stray hidden `.NAME.*.tmp` file beside the target, never a broken target.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  // Same folder as the target: a temp file elsewhere could be on another filesystem, where
  // rename() is a copy and no longer atomic.
  const tmp = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      // Without the fsync a power loss after rename() can leave an empty or truncated file on
      // filesystems that reorder metadata before data (ext4 delalloc, XFS).
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameWithRetry(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/**
 * On Windows a rename over a file that another process (a viewer, an antivirus scan) holds open
 * fails with EPERM/EACCES/EBUSY for a short while; elsewhere the first error is final.
 */
async function renameWithRetry(from: string, to: string): Promise<void> {
  const transient = new Set(['EPERM', 'EACCES', 'EBUSY']);
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (process.platform !== 'win32' || !transient.has(code) || attempt >= 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** Makes the rename itself durable; best effort, as Windows cannot open a folder for fsync. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the directory entry is a bonus; the write itself has succeeded.
  }
}
