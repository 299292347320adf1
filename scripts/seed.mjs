// Seeds the local KV of `wrangler dev --env dev`: builds the demo's KV bundle
// from the real Online Retail log with the precompute CLI (`make precompute`
// builds target/release/borderless), then publishes it, values first and the
// `config` pointer last. The bundle is cached in target/kv/ and rebuilt only
// when an input (the CLI, the log, the config, FX rates, dictionaries) changes.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "target/release/borderless");
const log = process.env.BORDERLESS_RETAIL_CSV || join(root, "../shared/data/online-retail/online_retail.csv.gz");
const config = join(root, "demo/config.json");
const fx = join(root, "demo/fx.json");
const dicts = join(root, "demo/i18n");
// Translated catalogs (scripts/demo-translations.mjs): the translation memories.
const translations = join(root, "demo/translations");
const out = join(root, "target/kv/bundle.json");
const stamp = join(root, "target/kv/bundle.inputs");

const args = ["build", "--retail", log, "--config", config, "-o", out];
// Recommend only what the demo store sells: its N best sellers, chosen the same way.
const shop = /const N_PRODUCTS = (\d+)/.exec(readFileSync(join(root, "demo/server.mjs"), "utf8"));
if (shop) args.push("--active-top", shop[1]);
if (existsSync(fx)) args.push("--fx", fx);
if (existsSync(dicts)) args.push("--dicts", dicts);
if (existsSync(translations)) args.push("--translations", translations);

// What the bundle depends on: file sizes and times for the binary and the
// log (large), contents for the small files.
const hash = createHash("sha256").update(JSON.stringify(args));
for (const f of [bin, log]) {
  const s = statSync(f);
  hash.update(`${f} ${s.size} ${s.mtimeMs}\n`);
}
const listing = (d) => (existsSync(d) ? readdirSync(d).sort().map((f) => join(d, f)) : []);
const small = [config, fx, ...listing(dicts), ...listing(translations)];
for (const f of small.filter(existsSync)) hash.update(f).update(readFileSync(f));
const key = hash.digest("hex");

mkdirSync(join(root, "target/kv"), { recursive: true });
if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
  console.log("[seed] bundle is current (target/kv/bundle.json)");
} else {
  console.log("[seed] building the KV bundle from the Online Retail log");
  execFileSync(bin, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  writeFileSync(stamp, key);
}
if (process.argv.includes("--build-only")) process.exit(0);
execFileSync(bin, ["publish", out, "--local", "--env", "dev"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});
const entries = JSON.parse(readFileSync(out, "utf8"));
const pointer = JSON.parse(entries.at(-1).value);
console.log(`[seed] local KV: ${entries.length} keys, config last (bundle ${pointer.bundle})`);
