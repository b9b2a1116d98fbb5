// Types of every operation in src/, generated from the server's schema (the repository's
// schema.graphql, exported by `timeside-gql export-schema`). `npm run typecheck` regenerates
// them first, so a schema change that breaks this client fails the type check.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  emitLegacyCommonJSImports: false, // ESM: relative imports end in .js
  documents: ["src/**/*.ts", "!src/gql/**"],
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        scalars: { UUID: "string", DateTime: "string", JSON: "unknown" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
