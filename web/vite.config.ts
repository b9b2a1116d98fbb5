import { resolve } from "node:path";
import { defineConfig } from "vite";

// Two pages, built into the Python package so an install needs no Node: the player (served
// at /) and the playground (served at GET /graphql); every asset under /static/.
export default defineConfig({
  base: "/static/",
  build: {
    outDir: resolve(__dirname, "../src/timeside_gql/web/static"),
    emptyOutDir: true,
    // Monaco (GraphiQL's editor) is one large chunk whatever we do; it loads on /graphql only.
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // React libraries mark modules "use client"; meaningless in a client-only bundle.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        player: resolve(__dirname, "index.html"),
        graphiql: resolve(__dirname, "graphiql.html"),
      },
    },
  },
});
