/**
 * The window's security options and guards, the policy it is served under, and the native menu,
 * with Electron replaced by fakes (no Electron binary exists here).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const electron = await vi.hoisted(async () => {
  const { EventEmitter } = await import('node:events');
  class FakeWebContents extends EventEmitter {
    id = 7;
    openHandler: ((d: { url: string }) => { action: string }) | undefined;
    setWindowOpenHandler(h: (d: { url: string }) => { action: string }): void {
      this.openHandler = h;
    }
  }
  class BrowserWindow extends EventEmitter {
    static created: BrowserWindow[] = [];
    webContents = new FakeWebContents();
    loaded: string | undefined;
    constructor(readonly options: Record<string, unknown>) {
      super();
      BrowserWindow.created.push(this);
    }
    loadURL(url: string): Promise<void> {
      this.loaded = url;
      return Promise.resolve();
    }
    show(): void {}
  }
  return { BrowserWindow, shell: { openExternal: vi.fn(async () => undefined) } };
});
vi.mock('electron', () => electron);

const { createMainWindow, guardWebContents, windowOptions } = await import('../../../main/window.js');
const { contentSecurityPolicy, isAllowedRequest, RENDERER_URL } = await import('../../../main/security.js');
const { rendererResponse, imageResponse, PRIVILEGED_SCHEMES } = await import('../../../main/protocol.js');
const { ImageRegistry } = await import('../../../main/images.js');
const { FileChangedError } = await import('../../../common/file-identity.js');
const { UserError } = await import('../../../engine/types.js');
const { menuTemplate } = await import('../../../main/menu.js');

describe('window options', () => {
  it('isolates and sandboxes the page and gives it no Node', () => {
    const wp = windowOptions('/app/preload/index.cjs', false, false).webPreferences!;
    expect(wp).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      devTools: false,
      preload: '/app/preload/index.cjs',
    });
  });

  it('creates one window on our own page and guards it', () => {
    electron.BrowserWindow.created.length = 0;
    const win = createMainWindow({ preload: '/p.cjs', url: RENDERER_URL, dark: true, devTools: false }) as unknown as InstanceType<typeof electron.BrowserWindow>;
    expect(electron.BrowserWindow.created).toHaveLength(1);
    expect(win.loaded).toBe('app://renderer/index.html');
    expect(win.options.backgroundColor).toBe('#17191d');
    expect((win.options.webPreferences as Record<string, unknown>).sandbox).toBe(true);
    expect(win.webContents.openHandler).toBeTypeOf('function');
  });
});

describe('navigation and new windows', () => {
  let wc: InstanceType<typeof electron.BrowserWindow>['webContents'];
  beforeEach(() => {
    wc = new electron.BrowserWindow({}).webContents;
    guardWebContents(wc as never);
    electron.shell.openExternal.mockClear();
  });

  it('denies window.open for every URL and hands none to the browser', () => {
    for (const url of ['https://example.org/doc', 'http://example.org/', 'file:///etc/passwd', 'javascript:alert(1)', 'app://renderer/index.html', 'mailto:a@b.c']) {
      expect(wc.openHandler!({ url }), url).toEqual({ action: 'deny' });
    }
    expect(electron.shell.openExternal).not.toHaveBeenCalled();
  });

  it.each(['will-navigate', 'will-redirect', 'will-attach-webview'])('prevents %s', (event) => {
    const e = { preventDefault: vi.fn() };
    wc.emit(event, e, 'file:///home/user/photo.png');
    expect(e.preventDefault).toHaveBeenCalled();
  });
});

describe('content security policy', () => {
  it('allows no inline or eval script, no remote origin', () => {
    const csp = contentSecurityPolicy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/https?:/);
    expect(csp).toContain("img-src 'self' app-image: blob: data:");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy(false, true)).not.toContain('frame-ancestors');
  });

  it('lets the session load only our schemes', () => {
    expect(isAllowedRequest('app://renderer/index.html')).toBe(true);
    expect(isAllowedRequest('app-image://image/abc')).toBe(true);
    expect(isAllowedRequest('https://example.org/x.js')).toBe(false);
    expect(isAllowedRequest('file:///etc/passwd')).toBe(false);
    expect(isAllowedRequest('http://localhost:5173/src/main.ts')).toBe(false);
    expect(isAllowedRequest('http://localhost:5173/src/main.ts', 'http://localhost:5173')).toBe(true);
    expect(isAllowedRequest('ws://localhost:5173/', 'http://localhost:5173')).toBe(true);
  });

  it('registers both schemes as standard and secure', () => {
    expect(PRIVILEGED_SCHEMES.map((s) => s.scheme)).toEqual(['app', 'app-image']);
    for (const s of PRIVILEGED_SCHEMES) expect(s.privileges).toMatchObject({ standard: true, secure: true });
  });
});

describe('app:// and app-image:// protocols', () => {
  const root = mkdtempSync(join(tmpdir(), 'vmlmap-proto-'));
  const rendererDir = join(root, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html>');
  writeFileSync(join(rendererDir, 'assets', 'a.js'), 'export {}');
  writeFileSync(join(root, 'secret.js'), 'secret');

  it('serves the renderer with the CSP header', async () => {
    const r = await rendererResponse(rendererDir, 'app://renderer/index.html', 'CSP');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe('CSP');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await rendererResponse(rendererDir, 'app://renderer/assets/a.js', 'CSP')).headers.get('content-type')).toMatch(/javascript/);
  });

  it.each([
    'app://renderer/../secret.js',
    'app://renderer/%2e%2e/secret.js',
    'app://renderer/assets/..%2f..%2fsecret.js',
    'app://renderer/..%5csecret.js',
    'app://other/index.html',
    'app://renderer/assets/%00.js',
    'app://renderer/nothing.exe',
  ])('does not serve %s', async (url) => {
    expect((await rendererResponse(rendererDir, url, 'CSP')).status).toBe(404);
  });

  it('serves only registered images', async () => {
    const sharp = (await import('sharp')).default;
    const photo = join(root, 'photo.png');
    await sharp({ create: { width: 4, height: 3, channels: 3, background: '#808080' } })
      .png()
      .toFile(photo);
    const images = new ImageRegistry((id) => `app-image://image/${id}`);
    const e = await images.register(photo);
    expect(e.url).toBe(`app-image://image/${e.id}`);
    expect([e.width, e.height]).toEqual([4, 3]);
    const ok = await imageResponse(images, e.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    for (const url of ['app-image://image/AAAAAAAAAAAAAAAAAAAAAA', `app-image://image/${e.id}/../x`, `app-image://other/${e.id}`, 'app-image://image/%2Fetc%2Fpasswd', 'app-image://image/']) {
      expect((await imageResponse(images, url)).status, url).toBe(404);
    }
  });

  describe('a registered photo whose path later leads elsewhere', () => {
    const sharpImage = async (path: string, colour: string): Promise<string> => {
      const sharp = (await import('sharp')).default;
      await sharp({ create: { width: 4, height: 3, channels: 3, background: colour } })
        .png()
        .toFile(path);
      return path;
    };

    it('is refused once the photo is replaced by a symlink to another file', async () => {
      const photo = await sharpImage(join(root, 'swap.png'), '#808080');
      const other = await sharpImage(join(root, 'other.png'), '#ff0000');
      const images = new ImageRegistry((id) => `app-image://image/${id}`);
      const e = await images.register(photo);
      expect((await imageResponse(images, e.url)).status).toBe(200);
      rmSync(photo);
      symlinkSync(other, photo);
      const r = await imageResponse(images, e.url);
      expect(r.status).toBe(403);
      expect(await r.text()).toBe('the file changed since it was opened');
      expect(await images.unchanged(images.get(e.id)!)).toBe(false);
    });

    it('is served through a symlink it was opened by, and refused when that link is retargeted', async () => {
      const a = await sharpImage(join(root, 'a.png'), '#808080');
      const b = await sharpImage(join(root, 'b.png'), '#00ff00');
      const link = join(root, 'link.png');
      symlinkSync(a, link);
      const images = new ImageRegistry((id) => `app-image://image/${id}`);
      const e = await images.register(link);
      const ok = await imageResponse(images, e.url);
      expect(ok.status).toBe(200);
      expect(Buffer.from(await ok.arrayBuffer()).equals(readFileSync(a))).toBe(true);
      rmSync(link);
      symlinkSync(b, link);
      expect((await imageResponse(images, e.url)).status).toBe(403);
    });

    it('is refused, without blocking, when a FIFO takes its place', async () => {
      const photo = await sharpImage(join(root, 'fifo.png'), '#808080');
      const images = new ImageRegistry((id) => `app-image://image/${id}`);
      const e = await images.register(photo);
      rmSync(photo);
      execFileSync('mkfifo', [photo]);
      expect((await imageResponse(images, e.url)).status).toBe(403);
    });

    it('is still served when the same file is rewritten in place (an edit, not another file)', async () => {
      const photo = await sharpImage(join(root, 'edit.png'), '#808080');
      const images = new ImageRegistry((id) => `app-image://image/${id}`);
      const e = await images.register(photo);
      const first = await imageResponse(images, e.url);
      expect([first.status, first.headers.get('content-type')]).toEqual([200, 'image/png']);
      const sharp = (await import('sharp')).default;
      writeFileSync(
        photo,
        await sharp({ create: { width: 4, height: 3, channels: 3, background: '#0000ff' } })
          .png()
          .toBuffer(),
      );
      const second = await imageResponse(images, e.url);
      expect(second.status).toBe(200);
      expect(Buffer.from(await second.arrayBuffer()).equals(readFileSync(photo))).toBe(true);
    });
  });

  // The service's side (decoding, its identity check, a crash) is tested in backend.test.ts.
  it('shows a TIFF from the display copy it is given, never decoding it itself', async () => {
    const sharp = (await import('sharp')).default;
    const tiff = join(root, 'photo.tif');
    await sharp({ create: { width: 4, height: 3, channels: 3, background: '#808080' } })
      .tiff()
      .toFile(tiff);
    const png = new Uint8Array([137, 80, 78, 71]);
    const asked: string[] = [];
    let fail: Error | undefined;
    const images = new ImageRegistry(
      (id) => `app-image://image/${id}`,
      async (e) => {
        asked.push(e.path);
        if (fail) throw fail;
        return png;
      },
    );
    const e = await images.register(tiff);
    expect([e.width, e.height]).toEqual([4, 3]);
    const ok = await imageResponse(images, e.url);
    expect([ok.status, ok.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(png);
    expect(asked).toEqual([tiff]);
    fail = new UserError('cannot show photo.tif: the restoration service stopped while decoding it; try again');
    const failed = await imageResponse(images, e.url);
    expect([failed.status, await failed.text()]).toEqual([500, fail.message]);
    fail = new FileChangedError('photo.tif is no longer the file that was opened; open it again');
    expect((await imageResponse(images, e.url)).status).toBe(403);
    // Without a display copy (no service), a TIFF is not shown, and says so.
    const bare = new ImageRegistry((id) => id);
    const r = await imageResponse(bare, `app-image://image/${(await bare.register(tiff)).id}`);
    expect([r.status, await r.text()]).toEqual([500, 'cannot show photo.tif: no service to decode it']);
  });

  it('refuses to register what is not an image', async () => {
    const images = new ImageRegistry((id) => id);
    await expect(images.register(join(root, 'secret.js'))).rejects.toThrow(/not an image/);
    await expect(images.register(root)).rejects.toThrow(/not a file/);
    await expect(images.register(join(root, 'missing.png'))).rejects.toThrow(/no longer exists/);
  });
});

describe('menu', () => {
  it('sends page commands without registering their accelerators', () => {
    const actions = { command: vi.fn(), open: vi.fn(), openRecent: vi.fn(), clearRecent: vi.fn() };
    const template = menuTemplate([{ name: 'a.png', path: '/x/a.png' }], actions, { mac: false, dev: false });
    const items = template.flatMap((m) => (Array.isArray(m.submenu) ? m.submenu : []));
    const undo = items.find((i) => i.label === 'Undo')!;
    expect(undo.registerAccelerator).toBe(false);
    (undo.click as () => void)();
    expect(actions.command).toHaveBeenCalledWith('undo');
    const recent = items.find((i) => i.label === 'Open Recent')!;
    const first = (recent.submenu as { click: () => void }[])[0]!;
    first.click();
    expect(actions.openRecent).toHaveBeenCalledWith(0);
    expect(items.some((i) => i.role === 'toggleDevTools')).toBe(false);
  });
});
