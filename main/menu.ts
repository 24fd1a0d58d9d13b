/**
 * The native menu. Items that act on the page send a command to the renderer, which owns the
 * keyboard shortcuts: the accelerators are shown but not registered (registerAccelerator: false)
 * so a key press reaches the page once, through the same code path as in the browser test.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { Command, RecentFile } from '../common/api.js';

export interface MenuActions {
  command(c: Command): void;
  open(): void;
  openRecent(index: number): void;
  clearRecent(): void;
}

export function menuTemplate(recent: RecentFile[], actions: MenuActions, opts: { mac: boolean; dev: boolean }): MenuItemConstructorOptions[] {
  const cmd = (label: string, command: Command, accelerator?: string): MenuItemConstructorOptions => ({
    label,
    accelerator,
    registerAccelerator: false,
    click: () => actions.command(command),
  });
  const recentItems: MenuItemConstructorOptions[] = recent.length
    ? [
        ...recent.map((r, i) => ({ label: r.name, sublabel: r.path, toolTip: r.path, click: () => actions.openRecent(i) })),
        { type: 'separator' as const },
        { label: 'Clear Recent', click: () => actions.clearRecent() },
      ]
    : [{ label: 'No Recent Files', enabled: false }];

  const template: MenuItemConstructorOptions[] = [];
  if (opts.mac) template.push({ role: 'appMenu' });
  template.push(
    {
      label: '&File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', registerAccelerator: false, click: () => actions.open() },
        { label: 'Open Recent', submenu: recentItems },
        { type: 'separator' },
        cmd('Export Result…', 'export', 'CmdOrCtrl+S'),
        { type: 'separator' },
        cmd('Import Mask…', 'mask-import'),
        cmd('Export Mask…', 'mask-export'),
        { type: 'separator' },
        cmd('Device and Model…', 'devices'),
        ...(opts.mac ? [] : [{ type: 'separator' as const }, { role: 'quit' as const }]),
      ],
    },
    {
      label: '&Edit',
      submenu: [
        cmd('Undo', 'undo', 'CmdOrCtrl+Z'),
        cmd('Redo', 'redo', 'CmdOrCtrl+Shift+Z'),
        { type: 'separator' },
        // Native roles: text fields, and paste of an image from the clipboard.
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { type: 'separator' },
        cmd('Clear Mask', 'mask-clear'),
        cmd('Invert Mask', 'mask-invert', 'CmdOrCtrl+I'),
      ],
    },
    {
      label: '&View',
      submenu: [
        cmd('Zoom In', 'zoom-in', 'CmdOrCtrl+='),
        cmd('Zoom Out', 'zoom-out', 'CmdOrCtrl+-'),
        cmd('Fit to Window', 'zoom-fit', 'CmdOrCtrl+0'),
        cmd('Actual Size', 'zoom-actual', 'CmdOrCtrl+1'),
        { type: 'separator' },
        cmd('Swipe Compare', 'compare-swipe', '1'),
        cmd('Side by Side', 'compare-side', '2'),
        cmd('Hold to See Original', 'compare-hold', '3'),
        { type: 'separator' },
        cmd('Toggle Dark Theme', 'theme-toggle', 'CmdOrCtrl+Shift+L'),
        ...(opts.dev ? [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }] : []),
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: '&Restore',
      submenu: [cmd('Run', 'run', 'CmdOrCtrl+Enter'), cmd('Cancel', 'cancel', 'Escape')],
    },
    {
      label: '&Help',
      submenu: [cmd('Keyboard Shortcuts', 'shortcuts', 'F1')],
    },
  );
  return template;
}
