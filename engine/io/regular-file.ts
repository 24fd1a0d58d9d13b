/**
 * Reading user-named files safely: only regular files, opened without blocking (a FIFO's open()
 * would wait forever for a writer) and checked on the open handle, so a path swapped between a
 * check and the read cannot slip a device or a pipe in; and never more than a size limit.
 */
import { constants } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { UserError } from '../types.js';

/** Photos larger than this on disk are refused before they are read (the pixel limit decides the rest). */
export const MAX_FILE_BYTES = 1024 ** 3;

/** What kind of thing a non-regular path is, for messages. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const bytes = (n: number): string => (n >= 2 ** 20 ? `${Math.round(n / 2 ** 20)} MB` : `${Math.ceil(n / 1024)} KB`);

export function fsReason(err: unknown, enoent = 'no such file'): string {
  const code = (err as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ENOENT: enoent,
    EISDIR: 'it is a folder',
    ENOTDIR: 'a part of the path is not a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ELOOP: 'too many symbolic links (a loop?)',
    ENAMETOOLONG: 'the name is too long',
    ENOSPC: 'no space left on the disk',
    EROFS: 'read-only file system',
  };
  if (code && known[code]) return known[code]!;
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').trim() || 'unknown error';
}

/**
 * The whole content of a regular file. `what` names it in errors ("image", "kernel file"); every
 * error is one UserError line: "cannot read <what> <path>: <reason>".
 */
export async function readRegularFile(path: string, what: string, maxBytes = MAX_FILE_BYTES): Promise<Buffer> {
  const fail = (reason: string): never => {
    throw new UserError(`cannot read ${what} ${path}: ${reason}`);
  };
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO without a writer returns at once instead of hanging; it has no
    // effect on regular files. Windows has no such flag (and no FIFOs in the file system).
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return fail(fsReason(err));
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) fail(`it is ${kindOf(st)}, not a file`);
    if (st.size > maxBytes) fail(`the file is ${bytes(st.size)}, above the ${bytes(maxBytes)} limit`);
    // Read at most one byte past the stated size: a file that grows while being read is refused,
    // not followed without bound.
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > st.size) fail('the file changed while it was read');
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof UserError) throw err;
    return fail(fsReason(err));
  } finally {
    await handle.close();
  }
}

/** readRegularFile for small files read while parsing arguments (a kernel file). */
export function readRegularFileSync(path: string, what: string, maxBytes: number): Buffer {
  const fail = (reason: string): never => {
    throw new UserError(`cannot read ${what} ${path}: ${reason}`);
  };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return fail(fsReason(err));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) fail(`it is ${kindOf(st)}, not a file`);
    if (st.size > maxBytes) fail(`the file is ${bytes(st.size)}, above the ${bytes(maxBytes)} limit`);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
      if (n > st.size) fail('the file changed while it was read');
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof UserError) throw err;
    return fail(fsReason(err));
  } finally {
    closeSync(fd);
  }
}
