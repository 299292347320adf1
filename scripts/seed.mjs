// Seeds the local KV of `wrangler dev --env dev` with the demo site config.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const config = JSON.parse(readFileSync(join(root, "demo/config.json"), "utf8"));
const file = join(mkdtempSync(join(tmpdir(), "borderless-")), "kv.json");
writeFileSync(file, JSON.stringify([{ key: "config", value: JSON.stringify(config) }]));
execFileSync(
  join(root, "node_modules/.bin/wrangler"),
  ["kv", "bulk", "put", file, "--binding", "BORDERLESS", "--env", "dev", "--local"],
  { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
);
console.log(`[seed] local KV: config (bundle ${config.bundle})`);
