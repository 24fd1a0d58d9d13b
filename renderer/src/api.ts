/**
 * The page's handle on the main process: whatever implements RendererApi on window.api (the
 * preload under Electron, the loopback transport in the browser test, a fake in unit tests).
 * Read on every call so tests can install their fake after import.
 */
import type { RendererApi } from '../../common/api';

export function api(): RendererApi {
  const a = window.api;
  if (!a) throw new Error('the app bridge (window.api) is missing');
  return a;
}
