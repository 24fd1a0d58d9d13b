/// <reference types="vite/client" />
import type { RendererApi } from '../../common/api';

declare global {
  interface Window {
    /** Set by the preload (Electron) or the loopback transport (end-to-end test). */
    api?: RendererApi;
  }
}
