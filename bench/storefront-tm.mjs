// A pseudo-translation memory for real storefront pages, built the way the
// product builds one (README "From your pages to a translated site"):
// `borderless extract <pages> -o catalog/`, `borderless pseudo
// catalog/source.xlf --lang <locale> -o translations/<locale>.xlf` per locale,
// `borderless build … --translations translations/` (on a one-row event log:
// only its memories and its config's `translation` are kept).
//
// Interface (for the benchmark harness and tests/e2e/reference-tm.test.mjs):
//
//   import { storefrontTm, withTm, storefrontPages } from "../bench/storefront-tm.mjs";
//   const pages = storefrontPages({ every: 1, prefix: "/s/sf-" }); // [{ name, path, html }]
//   const tm = await storefrontTm({ pages, locales: ["de-DE", "ja-JP", "ar-AE"] });
//   //  pages:       [{ path, html }] — the paths the worker will be asked for
//   //               (memory shards are chosen by path);
//   //  locales:     the locales to translate into (default: de-DE ja-JP ar-AE,
//   //               what bench/visitors.json's DE, CH, JP and SA visitors get
//   //               under demo/config.json; US gets en-GB, the default: no memory);
//   //  shardBytes:  `build --tm-shard-bytes` (default 262144: the 95 pages'
//   //               memory is then a base value and shards, as a large shop's);
//   //  exclude:     `translation.exclude` selectors (default none);
//   //  translations: more catalog directories built in beside the pseudo ones
//   //               (default: demo/translations, so the demo store stays translated).
//   //  → { translation, values: [{ id, value }], stats }
//   //    translation: the config's `localization.translation` ({exclude, shards, …});
//   //    values: the KV values `tm/<id>` of a bundle (id `de-DE`, `de-DE.2`).
//   const entries = withTm(bundleEntries, tm); // the bundle with these memories instead of its own
//
//   // bench/workload.mjs's hook (synchronous; builds in a child process when not cached):
//   storefrontGroups(pages, { tm: workloadTm }); // → { entries: [{key, value}], shards }
//
// Takes about 5 s for the 95 pages; the result is cached in target/storefront-tm/
// (keyed by the CLI binary, the pages and the options).
//
// CLI: `node bench/storefront-tm.mjs [--every N]` builds the memory for the
// storefront pages (every Nth, paths /s/sf-<first 8 hex>) and prints a summary.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import zlib from "node:zlib";
import crypto from "node:crypto";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIN = path.join(ROOT, "target", "release", "borderless");
const CACHE = path.join(ROOT, "target", "storefront-tm");
const STORE_DIR = path.join(ROOT, "..", "shared", "data", "storefront-pages");
const run = promisify(execFile);

/** The real storefront pages (sorted by file name), every `every`th, at `<prefix><first 8 hex>`. */
export function storefrontPages({ every = 1, prefix = "/s/sf-" } = {}) {
  const files = fs.readdirSync(STORE_DIR).filter((f) => f.endsWith(".html.gz")).sort();
  return files
    .filter((_, i) => i % every === 0)
    .map((f) => ({ name: f.slice(0, 64), path: `${prefix}${f.slice(0, 8)}`, html: zlib.gunzipSync(fs.readFileSync(path.join(STORE_DIR, f))) }));
}

/** Serves `pages` by path on 127.0.0.1 (extract reads URLs, so the catalog names the worker's paths). */
function serve(pages) {
  const byPath = new Map(pages.map((p) => [p.path, p.html]));
  const server = http.createServer((req, res) => {
    const body = byPath.get(req.url);
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/html", "content-length": body.length }).end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function cacheKey(pages, opts) {
  const h = crypto.createHash("sha256");
  const bin = fs.statSync(BIN);
  h.update(JSON.stringify({ bin: [bin.size, bin.mtimeMs], ...opts }));
  for (const p of pages) h.update(`${p.path}\0`).update(crypto.createHash("sha256").update(p.html).digest());
  return h.digest("hex").slice(0, 24);
}

/** Files of the catalog directories to build in. */
function catalogs(dirs) {
  return dirs.flatMap((d) =>
    fs.existsSync(d)
      ? fs
          .readdirSync(d)
          .filter((f) => /\.(xlf|xliff|po)$/.test(f))
          .sort()
          .map((f) => path.join(d, f))
      : [],
  );
}

const DEFAULTS = { locales: ["de-DE", "ja-JP", "ar-AE"], shardBytes: 256 << 10, exclude: [], translations: [path.join(ROOT, "demo", "translations")] };

/** The options with defaults, the extra catalogs, and the cache file of a build. */
function plan(options) {
  const { pages, locales, shardBytes, exclude, translations } = { ...DEFAULTS, ...options };
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`make precompute\``);
  const extra = catalogs(translations);
  const opts = { locales, shardBytes, exclude, extra: extra.map((f) => [path.basename(f), fs.readFileSync(f, "utf8")]) };
  return { pages, locales, shardBytes, exclude, extra, file: path.join(CACHE, `${cacheKey(pages, opts)}.json`) };
}

export async function storefrontTm(options = {}) {
  const { pages, locales, shardBytes, exclude, extra, file } = plan(options);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8"));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "storefront-tm-"));
  const server = await serve(pages);
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    const ex = exclude.flatMap((s) => ["--exclude", s]);
    // Extract in batches (the command line stays short).
    for (let i = 0; i < pages.length; i += 200) {
      const urls = pages.slice(i, i + 200).map((p) => base + p.path);
      await run(BIN, ["extract", ...urls, "-o", path.join(dir, "catalog"), ...ex]);
    }
    const tr = path.join(dir, "translations");
    fs.mkdirSync(tr);
    for (const l of locales) await run(BIN, ["pseudo", path.join(dir, "catalog", "source.xlf"), "--lang", l, "-o", path.join(tr, `${l}.xlf`)]);
    // The demo's own catalogs (their languages name their locales) beside, under other names.
    for (const f of extra) fs.copyFileSync(f, path.join(tr, `extra-${path.basename(f)}`));
    // A config whose locales include these, translation as given; a one-row log.
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, "demo", "config.json"), "utf8"));
    config.localization.locales = [...new Set([...config.localization.locales, ...locales])];
    config.localization.translation = exclude.length ? { exclude } : {};
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
    fs.writeFileSync(path.join(dir, "events.csv"), "timestamp,visitor,product,event,quantity,country\n2026-01-01T10:00:00Z,v1,P1,purchase,1,GB\n");
    fs.writeFileSync(path.join(dir, "catalog.csv"), "id,title,category,price,currency,image,url,active\nP1,Mug,Kitchen,2.50,GBP,/i/p1.svg,/p/P1,true\n");
    const out = path.join(dir, "bundle.json");
    await run(BIN, ["build", "--events", path.join(dir, "events.csv"), "--catalog", path.join(dir, "catalog.csv"), "--config", path.join(dir, "config.json"), "--translations", tr, "--tm-shard-bytes", String(shardBytes), "--bundle", "sf", "-q", "-o", out]);
    const entries = JSON.parse(fs.readFileSync(out, "utf8"));
    const built = JSON.parse(entries.find((e) => e.key === "config").value);
    const prefix = "b/sf/tm/";
    const values = entries.filter((e) => e.key.startsWith(prefix)).map((e) => ({ id: e.key.slice(prefix.length), value: e.value }));
    const units = (fs.readFileSync(path.join(dir, "catalog", "source.xlf"), "utf8").match(/<unit /g) || []).length;
    const result = { translation: built.localization.translation, values, stats: { pages: pages.length, units, values: values.length, bytes: values.reduce((n, v) => n + v.value.length, 0) } };
    fs.mkdirSync(CACHE, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(result));
    return result;
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** storefrontTm, synchronously: a child process builds what is not cached. */
export function storefrontTmSync(options = {}) {
  const { file } = plan(options);
  if (!fs.existsSync(file)) {
    const job = path.join(os.tmpdir(), `storefront-tm-${process.pid}-${Date.now()}.json`);
    const pages = options.pages.map((p) => ({ path: p.path, html: Buffer.from(p.html).toString("base64") }));
    fs.writeFileSync(job, JSON.stringify({ ...options, pages }));
    try {
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--job", job], { stdio: ["ignore", "ignore", "inherit"] });
    } finally {
      fs.rmSync(job, { force: true });
    }
  }
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/**
 * bench/workload.mjs's `tm` hook: the memory of one shop's pages for its
 * non-default locales, as that bundle's entries and the config's shards.
 */
export function workloadTm(bundle, pages, locales) {
  const t = storefrontTmSync({ pages, locales, translations: [] });
  return { entries: t.values.map((v) => ({ key: `b/${bundle}/tm/${v.id}`, value: v.value })), shards: t.translation.shards };
}

/** Bundle entries ([{key, value}], `config` last) with `tm`'s memories and translation config instead of their own. */
export function withTm(entries, tm) {
  const cfgEntry = entries.find((e) => e.key === "config");
  const config = JSON.parse(cfgEntry.value);
  const prefix = `b/${config.bundle}/tm/`;
  config.localization.translation = tm.translation;
  return [
    ...entries.filter((e) => e.key !== "config" && !e.key.startsWith(prefix)),
    ...tm.values.map((v) => ({ key: prefix + v.id, value: v.value })),
    { key: "config", value: JSON.stringify(config) },
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === "--job") {
  // storefrontTmSync's child: builds (and caches) one memory.
  const job = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
  await storefrontTm({ ...job, pages: job.pages.map((p) => ({ path: p.path, html: Buffer.from(p.html, "base64") })) });
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--every");
  const every = i > 0 ? Number(process.argv[i + 1]) : 1;
  const t0 = Date.now();
  const tm = await storefrontTm({ pages: storefrontPages({ every }) });
  console.log(JSON.stringify({ ...tm.stats, translation: tm.translation, ms: Date.now() - t0 }));
}
