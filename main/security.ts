/**
 * The security policy of the window, kept free of Electron imports so tests can check it as data:
 * the Content-Security-Policy, which origins count as our own page, and which requests the
 * session lets through. The app is offline; nothing outside the app's own schemes is loaded.
 */

export const APP_SCHEME = 'app';
export const IMAGE_SCHEME = 'app-image';
/** The renderer is served from app://renderer/, never from file://. */
export const APP_ORIGIN = `${APP_SCHEME}://renderer`;
export const RENDERER_URL = `${APP_ORIGIN}/index.html`;

/**
 * No inline or eval'd script, no remote anything. Images: the app's own files, opened photos
 * through the image protocol, and blob:/data: URLs the renderer makes from its own canvases.
 * Development relaxes only what Vite's dev server needs (injected <style> tags, its websocket).
 * `meta`: the variant for the page's <meta> tag, without the directives only headers can carry.
 */
export function contentSecurityPolicy(dev = false, meta = false): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': ["'self'", ...(dev ? ["'unsafe-inline'"] : [])],
    'img-src': ["'self'", `${IMAGE_SCHEME}:`, 'blob:', 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...(dev ? ['ws:'] : [])],
    'worker-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-src': ["'none'"],
    // Ignored (with a console warning) in a <meta> tag; the protocol's header carries it.
    ...(meta ? {} : { 'frame-ancestors': ["'none'"] }),
  };
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ');
}

/** scheme://host of a URL; WHATWG URL gives "null" as the origin of non-special schemes like app:. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!u.host) return undefined;
    return `${u.protocol}//${u.host}`;
  } catch {
    return undefined;
  }
}

export interface SenderFrame {
  url: string;
  /** null for a top-level frame. */
  parent: unknown;
}

export interface SenderEvent {
  sender: { id: number };
  senderFrame: SenderFrame | null;
}

/**
 * An IPC message is acted on only when it comes from the top frame of one of our windows, showing
 * our own page. An iframe, a page that navigated away, or a destroyed frame is refused.
 */
export function isTrustedSender(event: SenderEvent, webContentsIds: ReadonlySet<number>, origins: readonly string[]): boolean {
  if (!webContentsIds.has(event.sender.id)) return false;
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  const origin = originOf(frame.url);
  return origin !== undefined && origins.includes(origin);
}

/** What the session may request: our schemes, in-page data, and the dev server in development. */
export function isAllowedRequest(url: string, devServer?: string): boolean {
  const scheme = url.slice(0, url.indexOf(':') + 1);
  if ([`${APP_SCHEME}:`, `${IMAGE_SCHEME}:`, 'blob:', 'data:', 'devtools:'].includes(scheme)) return true;
  if (devServer) {
    const dev = originOf(devServer);
    const o = originOf(url);
    if (o && dev && (o === dev || o === dev.replace(/^http/, 'ws'))) return true;
  }
  return false;
}
