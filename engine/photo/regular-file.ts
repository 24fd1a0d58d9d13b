/**
 * Reading user-named files safely: only regular files, opened without blocking (a FIFO's open()
 * would wait forever for a writer) and checked on the open handle, so a path swapped between a
 * check and the read cannot slip a device or a pipe in; and never more than a size limit.
 */
import { constants } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
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

type Fail = (reason: string) => never;

const failer =
  (what: string, path: string): Fail =>
  (reason) => {
    throw new UserError(`cannot read ${what} ${path}: ${reason}`);
  };

// O_NONBLOCK: opening a FIFO without a writer returns at once instead of hanging; it has no effect
// on regular files. Windows has no such flag (and no FIFOs in the file system).
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Checks the opened file and returns a buffer one byte longer than it: reading stops at most one
 * byte past the stated size, so a file that grows while being read is refused, not followed.
 */
function bufferFor(st: Stats, maxBytes: number, fail: Fail): Buffer {
  if (!st.isFile()) fail(`it is ${kindOf(st)}, not a file`);
  if (st.size > maxBytes) fail(`the file is ${bytes(st.size)}, above the ${bytes(maxBytes)} limit`);
  return Buffer.alloc(st.size + 1);
}

function filled(buf: Buffer, n: number, fail: Fail): Buffer {
  if (n === buf.length) fail('the file changed while it was read');
  return buf.subarray(0, n);
}

/**
 * The whole content of a regular file. `what` names it in errors ("image", "kernel file"); every
 * error is one UserError line: "cannot read <what> <path>: <reason>".
 */
export async function readRegularFile(path: string, what: string, maxBytes = MAX_FILE_BYTES): Promise<Buffer> {
  const fail = failer(what, path);
  const handle = await open(path, READ_FLAGS).catch((err: unknown) => fail(fsReason(err)));
  try {
    const buf = bufferFor(await handle.stat(), maxBytes, fail);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = (await handle.read(buf, n, buf.length - n, n)).bytesRead;
    return filled(buf, n, fail);
  } catch (err) {
    if (err instanceof UserError) throw err;
    return fail(fsReason(err));
  } finally {
    await handle.close();
  }
}

/** Checks, without reading it, that `path` opens for reading and is a regular file: readRegularFile's refusals, as one UserError line. */
export async function checkRegularFile(path: string, what: string): Promise<void> {
  const fail = failer(what, path);
  const handle = await open(path, READ_FLAGS).catch((err: unknown) => fail(fsReason(err)));
  try {
    const st = await handle.stat();
    if (!st.isFile()) fail(`it is ${kindOf(st)}, not a file`);
  } finally {
    await handle.close();
  }
}

/** readRegularFile for small files read while parsing arguments (a kernel file). */
export function readRegularFileSync(path: string, what: string, maxBytes: number): Buffer {
  const fail = failer(what, path);
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (err) {
    return fail(fsReason(err));
  }
  try {
    const buf = bufferFor(fstatSync(fd), maxBytes, fail);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, n);
    return filled(buf, n, fail);
  } catch (err) {
    if (err instanceof UserError) throw err;
    return fail(fsReason(err));
  } finally {
    closeSync(fd);
  }
}
