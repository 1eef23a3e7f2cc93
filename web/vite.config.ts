import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Built into the Python package: flowradar serves these files at / (src/flowradar/ui/webassets.py).
const outDir = fileURLToPath(new URL("../src/flowradar/ui/web", import.meta.url));

export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir,
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        manualChunks: (id) => (id.includes("node_modules/echarts") || id.includes("node_modules/zrender") ? "echarts" : undefined),
      },
    },
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8470", ws: true },
      "/health": "http://127.0.0.1:8470",
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
