// Records a digest of web/'s sources next to the built assets, so a test can tell when the
// committed build no longer matches its sources (tests/web/test_assets.py computes the same).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("..", import.meta.url));
const out = join(web, "..", "src", "timeside_gql", "web", "static", "SOURCES.sha256");

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

const lines = [...files(web)]
  .map((path) => relative(web, path).split(sep).join("/"))
  .sort()
  .map((name) => {
    const digest = createHash("sha256").update(readFileSync(join(web, name))).digest("hex");
    return `${name}\n${digest}\n`;
  });
const digest = createHash("sha256").update(lines.join("")).digest("hex");
writeFileSync(out, `${digest}\n`);
console.log(`sources ${digest} -> ${relative(process.cwd(), out)}`);
