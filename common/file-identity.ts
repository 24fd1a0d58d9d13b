/**
 * Which file a path named when the user opened it, and reading that file and no other. Main keeps
 * the identity of every opened photo (main/images.ts); main and the inference service both read a
 * registered photo through readSameFile, so the file checked is the file read (docs/SECURITY.md).
 * Node only: main and the service import it, never the page.
 */
import { constants, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { MAX_FILE_BYTES } from '../engine/photo/regular-file.js';

/** Device and inode, as stat() reports them for the file a path leads to (through symlinks). */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/** The same, as decimal strings: how it crosses to the service (structured clone or not). */
export interface FileIdentityWire {
  dev: string;
  ino: string;
}

export const identityOf = (st: BigIntStats): FileIdentity => ({ dev: st.dev, ino: st.ino });
export const sameIdentity = (a: FileIdentity, b: FileIdentity): boolean => a.dev === b.dev && a.ino === b.ino;
export const identityToWire = (i: FileIdentity): FileIdentityWire => ({ dev: i.dev.toString(), ino: i.ino.toString() });
export const identityFromWire = (w: FileIdentityWire): FileIdentity => ({ dev: BigInt(w.dev), ino: BigInt(w.ino) });

/** The path no longer leads to the file that was opened (or it grew past the limit): served as 403. */
export class FileChangedError extends Error {}

const sizeText = (n: number): string => (n >= 2 ** 30 ? `${Number((n / 2 ** 30).toPrecision(3))} GB` : `${Math.ceil(n / 2 ** 20)} MB`);

/**
 * The bytes of the file `identity` names, read through one handle whose identity is checked
 * first. Non-blocking open: a FIFO put in the photo's place must not hang. `name` is what the
 * person knows the file by, for the message.
 */
export async function readSameFile(path: string, identity: FileIdentity, name: string, maxBytes = MAX_FILE_BYTES): Promise<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile() || !sameIdentity(identity, identityOf(st))) throw new FileChangedError(`${name} is no longer the file that was opened; open it again`);
    if (st.size > BigInt(maxBytes)) throw new FileChangedError(`${name} has grown larger than ${sizeText(maxBytes)}`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
