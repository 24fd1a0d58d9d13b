/**
 * The two custom schemes. app://renderer/ serves the built renderer from one folder (with the CSP
 * as a header); app-image://image/<token> serves only files registered in the ImageRegistry.
 * Both are plain Request -> Response functions, so they are tested without Electron.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { FileChangedError } from '../common/file-identity.js';
import { UserError } from '../engine/types.js';
import { type ImageRegistry, tokenFromPath } from './images.js';

/** For protocol.registerSchemesAsPrivileged, before the app is ready. */
export const PRIVILEGED_SCHEMES = [
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  { scheme: 'app-image', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const notFound = (): Response => new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });

export function securityHeaders(csp: string): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
  };
}

/** A file of the built renderer; paths that leave `root` (.., encoded slashes) are not found. */
export async function rendererResponse(root: string, requestUrl: string, csp: string): Promise<Response> {
  let pathname: string;
  try {
    const u = new URL(requestUrl);
    if (u.host !== 'renderer') return notFound();
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return notFound();
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return notFound();
  const base = resolve(root);
  const file = resolve(base, '.' + normalize(pathname === '/' ? '/index.html' : pathname));
  if (!file.startsWith(base + sep)) return notFound();
  const type = TYPES[extname(file).toLowerCase()];
  if (!type) return notFound();
  try {
    const body = await readFile(file);
    return new Response(new Uint8Array(body), { status: 200, headers: { 'content-type': type, ...securityHeaders(csp) } });
  } catch {
    return notFound();
  }
}

/**
 * An opened image by token; every other URL is not found, a token whose path now leads to
 * another file (or to no regular file) is refused, and a failed display copy says why.
 */
export async function imageResponse(images: ImageRegistry, requestUrl: string): Promise<Response> {
  let token: string | undefined;
  try {
    const u = new URL(requestUrl);
    token = u.host === 'image' ? tokenFromPath(u.pathname) : undefined;
  } catch {
    token = undefined;
  }
  if (!token) return notFound();
  try {
    const served = await images.serve(token);
    if (!served) return notFound();
    return new Response(new Uint8Array(served.body), {
      status: 200,
      headers: { 'content-type': served.type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' },
    });
  } catch (e) {
    if (e instanceof FileChangedError) return new Response('the file changed since it was opened', { status: 403, headers: { 'content-type': 'text/plain' } });
    // No display copy (the service failed or stopped while decoding): the reason, one line.
    if (e instanceof UserError) return new Response(e.message, { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    return notFound();
  }
}

export const imageUrl = (id: string): string => `app-image://image/${id}`;
export const rendererRoot = (outMain: string): string => join(outMain, '..', 'renderer');
