// Seed corpora for the fuzz targets (fuzz/corpus/<target>/, not committed):
// the demo store's pages (served by demo/server.mjs on a loopback port), the
// real storefront pages (../shared/data/storefront-pages), the demo config
// and its KV values (target/kv/bundle.json when built), switch queries and
// request headers. Idempotent: rerunning rewrites the same files.
//
// Usage: node scripts/fuzz-seeds.mjs
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const corpus = path.join(root, "fuzz", "corpus");
const pages = process.env.BORDERLESS_STOREFRONT_PAGES || path.join(root, "../shared/data/storefront-pages");
// Large pages are cut: libFuzzer's -max_len bounds inputs anyway.
const MAX_SEED = 256 << 10;

function put(target, bytes) {
  const dir = path.join(corpus, target);
  fs.mkdirSync(dir, { recursive: true });
  const b = Buffer.from(bytes).subarray(0, MAX_SEED);
  fs.writeFileSync(path.join(dir, createHash("sha1").update(b).digest("hex")), b);
}

// The pipeline's parameter bytes (fuzz/src/lib.rs `visit`): shop, path,
// suffix length, country, times, chunk, offset, id, headers, content type.
function params(i) {
  return Buffer.from([i % 4, i % 12, 0, i % 10, i % 90, i % 24, 7 + (i % 50), 4, 1, 1, i % 9 === 0 ? 0 : 0]);
}

const htmls = [];
// The real storefront pages.
if (fs.existsSync(pages)) {
  for (const f of fs.readdirSync(pages).filter((f) => f.endsWith(".html.gz")).sort()) {
    htmls.push(zlib.gunzipSync(fs.readFileSync(path.join(pages, f))));
  }
} else {
  console.warn(`[fuzz-seeds] ${pages} is missing: no storefront seeds`);
}
// The demo store's pages.
htmls.push(...(await demoPages()));
htmls.forEach((h, i) => put("pipeline", Buffer.concat([params(i), h])));

// Config: the demo's, and variants; the card templates the docs show.
const demo = fs.readFileSync(path.join(root, "demo", "config.json"), "utf8");
put("config", demo);
const c = JSON.parse(demo);
c.localization.url_prefixes = true;
c.personalization.card_template = '<li class="c" data-id="{id}"><a href="{url}" title="{title}"><img src="{image}" alt=""> {title}</a> <b>{price}</b></li>';
c.rules = [{ select: "html", set_attr: { "data-country": "{country}" } }, { select: "p.x", set_text: "{locale}" }];
put("config", JSON.stringify(c));
put("config", c.personalization.card_template);
put("config", '<div class="card"><h3>{title}</h3><p>{price} &middot; {category}</p><a href="/p/{id}">more</a></div>');

// Bundle values: the demo's dictionaries and FX, and the built bundle's values.
const i18n = path.join(root, "demo", "i18n");
for (const f of fs.readdirSync(i18n)) put("values", Buffer.concat([Buffer.from([0]), params(1), fs.readFileSync(path.join(i18n, f))]));
put("values", Buffer.concat([Buffer.from([1]), params(2), fs.readFileSync(path.join(root, "demo", "fx.json"))]));
const bundle = path.join(root, "target", "kv", "bundle.json");
if (fs.existsSync(bundle)) {
  for (const { key, value } of JSON.parse(fs.readFileSync(bundle, "utf8"))) {
    const kind = key.includes("/dict/") ? 0 : key.includes("/fx/") ? 1 : key.includes("/country/") ? 2 : -1;
    if (kind >= 0) put("values", Buffer.concat([Buffer.from([kind]), params(3), Buffer.from(value)]));
    if (kind === 0) put("format", Buffer.from(value).subarray(0, 512));
  }
} else {
  console.warn("[fuzz-seeds] target/kv/bundle.json is missing (`make demo-bundle`): no bundle seeds");
}

// Switch queries.
for (const q of [
  "locale=de-DE&currency=EUR&return=%2Fp%2F1%3Fx%3D1",
  "locale=en-GB&return=/de-de//evil.com",
  "locale=en-GB&return=/ja-jp/%2F/evil.com",
  "currency=JPY&return=/%E6%97%A5%E6%9C%AC",
  "locale=ar-AE&return=/de-de/%5Cevil.com",
]) {
  for (const shop of [0, 1]) put("switch", Buffer.concat([Buffer.from([shop]), Buffer.from(q)]));
}

// Request headers (see fuzz_targets/request.rs: a count, then name index + value).
const header = (name, value) => Buffer.concat([Buffer.from([name, value.length]), Buffer.from(value)]);
for (const [i, hs] of [
  [[0, "borderless_consent=yes; borderless_locale=de-DE; borderless_currency=CHF"], [1, "ja-JP,ja;q=0.9,en;q=0.5"]],
  [[0, "borderless_vid=0123456789abcdef0123456789abcdef; borderless_profile=v1.k1.k2"], [2, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"]],
  [[6, "JP"], [7, "ar-AE"], [8, "BHD"], [9, "2026-12-24T19:00:00+01:00"]],
  [[3, "?1"], [4, "1"], [5, 'W/"bl.0123456789abcdef.x", "y"']],
].entries()) {
  put("request", Buffer.concat([params(i), Buffer.from([hs.length]), ...hs.map(([n, v]) => header(n, v)), Buffer.from([1])]));
}
console.log(`[fuzz-seeds] ${htmls.length} pages; corpora in ${path.relative(root, corpus)}/`);

/** A few pages of the demo store, from demo/server.mjs on a loopback port. */
async function demoPages() {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const child = spawn(process.execPath, [path.join(root, "demo", "server.mjs"), "--port", String(port), "--host", "127.0.0.1"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => String(d).includes("listening") && resolve());
      child.on("exit", (code) => reject(new Error(`demo server exited (${code})`)));
      setTimeout(() => reject(new Error("demo server did not start")), 60_000);
    });
    const out = [];
    const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    const links = [...new Set([...home.matchAll(/href="(\/[^"]*)"/g)].map((m) => m[1]))].slice(0, 12);
    for (const p of ["/", ...links]) {
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      if ((r.headers.get("content-type") || "").includes("html")) out.push(Buffer.from(await r.arrayBuffer()));
    }
    return out;
  } catch (e) {
    console.warn(`[fuzz-seeds] no demo pages: ${e.message}`);
    return [];
  } finally {
    child.kill();
  }
}
