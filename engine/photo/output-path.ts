/**
 * Where an output really goes, checked before any work is done: a writable folder, not a folder or
 * a device, not one of the inputs. Symlink policy: an output path that is a symbolic link is
 * written through, so the file the link points to is replaced and the link is kept (as editors
 * do); a link to a missing file is refused.
 */
import { constants } from 'node:fs';
import { access, lstat, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../types.js';
import { fsReason } from './regular-file.js';

/**
 * The same file by real path (symlinks, `..`, case on case-insensitive systems) or by device and
 * inode (hard links). A target that does not exist yet cannot be an input.
 */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const info = (p: string) => stat(p, { bigint: true }).catch(() => null);
  const [sa, sb] = await Promise.all([info(a), info(b)]);
  if (!sa || !sb) return false;
  // Some filesystems (FAT, network shares) report inode 0 for every file.
  if (sa.ino !== 0n && sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const [ra, rb] = await Promise.all([realpath(a), realpath(b)]);
  return ra === rb;
}

/**
 * The path the output will be written to (the link's target when `path` is a symlink). Throws a
 * one-line UserError "cannot write <what> <path>: <reason>" when it cannot be written there.
 */
export async function outputTarget(path: string, what: string, protect: readonly string[] = []): Promise<string> {
  const fail = (reason: string): never => {
    throw new UserError(`cannot write ${what} ${path}: ${reason}`);
  };
  let target = path;
  const link = await lstat(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : fail(fsReason(err))));
  if (link?.isSymbolicLink()) {
    target = await realpath(path).catch((err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? 'it is a symbolic link to a missing file' : fsReason(err)));
  }
  const st = link ? await stat(target).catch((err) => fail(fsReason(err))) : null;
  if (st && !st.isFile()) fail(st.isDirectory() ? 'it is a folder' : 'it exists and is not a regular file');
  const folder = dirname(target);
  const dir = await stat(folder).catch((err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? `the folder ${folder} does not exist` : fsReason(err)));
  if (!dir.isDirectory()) fail(`${folder} is not a folder`);
  await access(folder, constants.W_OK).catch(() => fail(`the folder ${folder} is not writable`));
  if (st) await access(target, constants.W_OK).catch(() => fail('the file is read-only'));
  for (const input of protect) {
    if (await sameFile(target, input)) throw new UserError(`refusing to overwrite the input ${input}; choose another output path`);
  }
  return target;
}
