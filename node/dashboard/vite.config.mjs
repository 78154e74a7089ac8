// Vite builds the dashboard into dist/ with fixed file names (no content hashes), so the node
// can embed exactly index.html, app.js, app.css and favicon.svg (node/src/api/dashboard.rs),
// and `build.sh --check` can compare a fresh build with the committed one byte for byte.
import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset URLs: the node serves the page under /dashboard/.
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "",
    // Everything in one script and one stylesheet; no inline assets (the CSP forbids data:).
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    // The polyfill would be an inline script, which the CSP forbids; browsers need none.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
    rolldownOptions: {
      output: {
        entryFileNames: "app.js",
        chunkFileNames: "[name].js",
        assetFileNames: (asset) => (asset.names?.some((n) => n.endsWith(".css")) ? "app.css" : "[name][extname]"),
      },
    },
  },
});
