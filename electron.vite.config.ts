/**
 * Builds the three parts of the app: main (plus the inference service and the memory probe as
 * further entries, each run in a utility process of its own), the preload (CommonJS: sandboxed
 * preloads cannot be ES modules) and the renderer, whose Content-Security-Policy meta tag is
 * filled in from main/security.ts so the page and the app:// protocol's header state the same
 * policy.
 */
import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { contentSecurityPolicy } from './main/security.js';

function csp(): Plugin {
  let dev = false;
  return {
    name: 'vmlmap-csp',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml: (html) => html.replace('%CSP%', contentSecurityPolicy(dev, true)),
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: { index: resolve('main/index.ts'), service: resolve('service/index.ts'), 'memory-probe': resolve('service/memory-probe.ts') },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    plugins: [vue(), csp()],
    build: {
      outDir: 'out/renderer',
      emptyOutDir: true,
      rollupOptions: { input: resolve('renderer/index.html') },
    },
  },
});
