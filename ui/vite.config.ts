import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Tauri shell embeds dist/ (frontendDist) and serves it from its own origin; no dev server
// URL and no remote assets, so the strict CSP ('self' only) holds.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One CSS file and no inlined data: URLs (the shell's CSP has no data: for scripts/styles).
    assetsInlineLimit: 0,
    cssCodeSplit: false,
  },
});
