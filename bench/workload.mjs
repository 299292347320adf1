// The benchmark's real-storefront workload (bench/run.mjs, benches/pipeline.rs
// through the manifest, tests/e2e/reference-*.test.mjs): every 3rd of the 95
// real pages in ../shared/data/storefront-pages, each behind the config its
// shop would write — its currency and decimal separator
// (tests/e2e/storefront-shops.json), the bench visitors' locales and
// currencies, price detection on, the translation memory on with a
// pseudo-translation of the pages for every non-default locale.
//
// Pages of shops with the same currency and separator share one bundle, as
// one deployment per shop would have it.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildBundle } from "../tests/e2e/harness.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PAGES = path.join(ROOT, "..", "shared", "data", "storefront-pages");
const SHOPS = createRequire(import.meta.url)("../tests/e2e/storefront-shops.json");

/** Value of one unit of each currency in EUR's terms (the shared table). */
export const PER_EUR = createRequire(import.meta.url)("../tests/e2e/storefront-fx.json").per_eur;
/** The visitors' locales (bench/visitors.json: DE, JP, US, SA, CH), the default first. */
export const LOCALES = ["en-GB", "de-DE", "ja-JP", "en-US", "ar-AE"];
const VISITOR_CURRENCIES = ["EUR", "USD", "JPY", "CHF", "SAR"];

/** The pages: { name, id, path, html, content_type, kind, group }, every 3rd by file name. */
export function storefrontPages({ every = 3 } = {}) {
  const files = fs.readdirSync(PAGES).filter((f) => f.endsWith(".html.gz")).sort();
  return files
    .filter((_, i) => i % every === 0)
    .map((f) => {
      const id = f.replace(/\.html\.gz$/, "");
      const shop = SHOPS[id];
      if (!shop) throw new Error(`${id}: not in tests/e2e/storefront-shops.json`);
      const name = `sf-${id.slice(0, 8)}`;
      return {
        name,
        id,
        path: `/s/${name}`,
        html: zlib.gunzipSync(fs.readFileSync(path.join(PAGES, f))),
        content_type: "text/html",
        kind: "storefront",
        group: `${shop.currency}${shop.decimal === "." ? "dot" : "comma"}`,
        shop,
      };
    });
}

/** A shop's config: its currency and separator; prices and the translation memory on. */
export function shopConfig(group, shop) {
  return {
    version: 1,
    bundle: `bench-sf-${group.toLowerCase()}`,
    site: { default_locale: LOCALES[0], currency: shop.currency },
    localization: {
      locales: LOCALES,
      url_prefixes: false,
      country_locales: { CH: "de-DE", SA: "ar-AE" },
      currencies: [...new Set([shop.currency, ...VISITOR_CURRENCIES])],
      fx_max_age_hours: 87600,
      rounding: { USD: { charm: "0.99" }, CHF: { step: "0.05" }, JPY: { step: "10" } },
      prices: { decimal: shop.decimal },
      translation: {},
    },
  };
}

/** FX rates from the shop's currency to the visitors'. */
export function shopFx(currency) {
  const rate = (to) => Number((PER_EUR[to] / PER_EUR[currency]).toPrecision(8));
  const rates = Object.fromEntries(VISITOR_CURRENCIES.filter((c) => c !== currency).map((c) => [c, rate(c)]));
  return { base: currency, as_of: "2026-11-22T00:00:00Z", rates };
}

/**
 * Groups of pages and the KV entries of each group's bundle.
 * `tm(bundle, pages, locales)` gives the translation memory's entries and the
 * config's `translation.shards` ({entries, shards}); without it the memory
 * is left out (the config keeps `translation: {}`).
 */
export function storefrontGroups(pages, { tm } = {}) {
  const groups = new Map();
  for (const p of pages) {
    if (!groups.has(p.group)) groups.set(p.group, { name: p.group, shop: p.shop, pages: [] });
    groups.get(p.group).pages.push(p);
  }
  for (const g of groups.values()) {
    const config = shopConfig(g.name, g.shop);
    let extra = [];
    if (tm) {
      const t = tm(config.bundle, g.pages, LOCALES.slice(1));
      extra = t.entries;
      if (t.shards) config.localization.translation.shards = t.shards;
    }
    g.config = config;
    g.entries = buildBundle(config, { fx: shopFx(g.shop.currency), extra });
  }
  return [...groups.values()];
}
