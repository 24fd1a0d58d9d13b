/**
 * Keyboard shortcuts. The page handles them itself (the native menu shows the same keys without
 * registering them), so they work identically in Electron and in the browser test. Keys typed
 * into a form field stay with the field, except Escape.
 */
import type { Command } from '../../common/api';
import { runCommand } from './commands';
import { type Tool, useMaskStore } from './stores/mask';
import { useSessionStore } from './stores/session';
import { useViewStore } from './stores/view';

export interface Shortcut {
  keys: string;
  what: string;
}

/** Shown in the shortcuts dialog; the handler below is the source of truth. */
export const SHORTCUTS: Shortcut[] = [
  { keys: 'Ctrl+O', what: 'Open a photo' },
  { keys: 'Ctrl+V', what: 'Paste a photo' },
  { keys: 'Ctrl+Enter', what: 'Run' },
  { keys: 'Esc', what: 'Cancel the run / close a dialog' },
  { keys: 'Ctrl+S', what: 'Export the result' },
  { keys: 'B / E / L / P', what: 'Brush / eraser / lasso / polygon' },
  { keys: 'Shift+click', what: 'Straight brush line from the last stroke' },
  { keys: 'Enter / Esc', what: 'Close / cancel the polygon being drawn' },
  { keys: '[ / ]', what: 'Smaller / larger brush' },
  { keys: 'Ctrl+Z / Ctrl+Shift+Z', what: 'Undo / redo mask edits' },
  { keys: 'Ctrl+I', what: 'Invert the mask' },
  { keys: 'Space + drag', what: 'Pan (also middle mouse button)' },
  { keys: 'Wheel', what: 'Zoom at the pointer' },
  { keys: 'Ctrl+= / Ctrl+-', what: 'Zoom in / out' },
  { keys: 'Ctrl+0 / Ctrl+1', what: 'Fit / actual size' },
  { keys: 'M / C', what: 'Edit mask / compare view' },
  { keys: '1 / 2 / 3', what: 'Swipe / side by side / hold compare' },
  { keys: '\\ (hold)', what: 'Show the original while held' },
  { keys: 'Ctrl+Shift+L', what: 'Light / dark theme' },
  { keys: 'F1 or ?', what: 'This list' },
];

const isField = (t: EventTarget | null): boolean => t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName));

/** The command for a key press, or undefined. Exported for tests. */
export function commandFor(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): Command | undefined {
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod) {
    if (k === 'o') return 'open';
    if (k === 's') return 'export';
    if (k === 'z') return e.shiftKey ? 'redo' : 'undo';
    if (k === 'y') return 'redo';
    if (k === 'i') return 'mask-invert';
    if (k === 'Enter') return 'run';
    if (k === '=' || k === '+') return 'zoom-in';
    if (k === '-') return 'zoom-out';
    if (k === '0') return 'zoom-fit';
    if (k === '1') return 'zoom-actual';
    if (k === 'l' && e.shiftKey) return 'theme-toggle';
    return undefined;
  }
  if (e.altKey) return undefined;
  if (k === 'Escape') return 'cancel';
  if (k === 'F1' || k === '?') return 'shortcuts';
  if (k === '1') return 'compare-swipe';
  if (k === '2') return 'compare-side';
  if (k === '3') return 'compare-hold';
  return undefined;
}

/** A mask tool from the keyboard: the outline being drawn is dropped, and the mask shown. */
function pickTool(tool: Tool): void {
  const mask = useMaskStore();
  mask.cancelOutline();
  mask.tool = tool;
  useViewStore().mode = 'edit';
}

export function installKeyboard(target: Window = window): () => void {
  const down = (e: KeyboardEvent): void => {
    const session = useSessionStore();
    const view = useViewStore();
    const mask = useMaskStore();
    if (e.key === 'Escape' && session.dialog !== 'none') {
      session.dialog = 'none';
      e.preventDefault();
      return;
    }
    if (isField(e.target) && e.key !== 'Escape') return;
    // A polygon (or lasso) being drawn takes Enter and Escape before the run does.
    if (mask.outline.length && !e.ctrlKey && !e.metaKey && (e.key === 'Enter' || e.key === 'Escape')) {
      if (e.key === 'Enter') mask.closeOutline();
      else mask.cancelOutline();
      e.preventDefault();
      return;
    }
    if (e.key === ' ') {
      view.panKey = true;
      e.preventDefault();
      return;
    }
    const command = commandFor(e);
    if (command) {
      e.preventDefault();
      runCommand(command);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    switch (e.key) {
      case '[':
        mask.growBrush(-1);
        break;
      case ']':
        mask.growBrush(1);
        break;
      case 'b':
      case 'B':
        pickTool('brush');
        break;
      case 'e':
      case 'E':
        pickTool('eraser');
        break;
      case 'l':
      case 'L':
        pickTool('lasso');
        break;
      case 'p':
      case 'P':
        pickTool('polygon');
        break;
      case 'm':
      case 'M':
        view.mode = 'edit';
        break;
      case 'c':
      case 'C':
        view.mode = 'compare';
        break;
      case '\\':
        view.holding = true;
        break;
      default:
        return;
    }
    e.preventDefault();
  };
  const up = (e: KeyboardEvent): void => {
    if (e.key === '\\') useViewStore().holding = false;
    if (e.key === ' ') useViewStore().panKey = false;
  };
  const blur = (): void => {
    useViewStore().holding = false;
    useViewStore().panKey = false;
  };
  target.addEventListener('keydown', down);
  target.addEventListener('keyup', up);
  target.addEventListener('blur', blur);
  return () => {
    target.removeEventListener('keydown', down);
    target.removeEventListener('keyup', up);
    target.removeEventListener('blur', blur);
  };
}
