/**
 * Undo and redo of mask edits. A stroke is stored as the rectangle it touched, before and after,
 * so a small stroke on a large photo costs little; inversion is its own inverse and stores
 * nothing. The oldest steps are dropped beyond a memory budget.
 */
import { pasteRect, type Rect, invertInPlace } from './raster';

export type Edit = { kind: 'rect'; rect: Rect; before: Uint8Array; after: Uint8Array } | { kind: 'invert' };

const bytesOf = (e: Edit): number => (e.kind === 'rect' ? e.before.length + e.after.length : 0);

export class MaskHistory {
  private done: Edit[] = [];
  private undone: Edit[] = [];
  private bytes = 0;

  constructor(private readonly budget = 512 * 1024 * 1024) {}

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  push(edit: Edit): void {
    this.done.push(edit);
    this.bytes += bytesOf(edit);
    for (const e of this.undone) this.bytes -= bytesOf(e);
    this.undone = [];
    while (this.bytes > this.budget && this.done.length > 1) this.bytes -= bytesOf(this.done.shift()!);
  }

  /** Applies the inverse of the last edit to `mask`; returns the region that changed. */
  undo(mask: Uint8Array, w: number): Rect | 'all' | undefined {
    const e = this.done.pop();
    if (!e) return undefined;
    this.undone.push(e);
    return apply(mask, w, e, 'before');
  }

  redo(mask: Uint8Array, w: number): Rect | 'all' | undefined {
    const e = this.undone.pop();
    if (!e) return undefined;
    this.done.push(e);
    return apply(mask, w, e, 'after');
  }

  clear(): void {
    this.done = [];
    this.undone = [];
    this.bytes = 0;
  }
}

function apply(mask: Uint8Array, w: number, e: Edit, side: 'before' | 'after'): Rect | 'all' {
  if (e.kind === 'invert') {
    invertInPlace(mask);
    return 'all';
  }
  pasteRect(mask, w, e.rect, e[side]);
  return e.rect;
}
