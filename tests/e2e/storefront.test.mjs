// 95 real product pages (../shared/data/storefront-pages) through the worker:
// rules that match nothing must leave every byte as it was, and a rule that
// matches only <html> must change nothing else.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, storefrontNames, storefrontPage } from "./origin.mjs";
import { startWorker, contextOf, ownLength, CF, buildBundle, expectedPrice, intlPrice } from "./harness.mjs";
import { createRequire } from "node:module";

const NAMES = storefrontNames();

// Rules that target nothing on these pages (checked below).
const NOTHING_CONFIG = {
  version: 1,
  bundle: "e2e-store",
  site: { default_locale: "en-GB", currency: "GBP" },
  rules: [
    { select: "[data-borderless-greeting]", set_text: "Good {daypart}!" },
    { select: "[data-bl-nothing]", set_attr: { "data-bl-country": "{country}" } },
  ],
};
// One attribute on the root element only.
const ROOT_CONFIG = {
  ...NOTHING_CONFIG,
  bundle: "e2e-store-root",
  rules: [{ select: "html", set_attr: { "data-bl-country": "{country}" } }],
};
const ROOT_ATTR = ' data-bl-country="DE"';

let origin;
let nothing;
let root;
before(async () => {
  origin = await startOrigin();
  [nothing, root] = await Promise.all([
    startWorker({ origin: origin.url, config: NOTHING_CONFIG }),
    startWorker({ origin: origin.url, config: ROOT_CONFIG }),
  ]);
});
after(async () => {
  await nothing?.close();
  await root?.close();
  await origin?.close();
});

test("the benchmark is all there: 95 pages, all UTF-8, none with our markers", () => {
  assert.equal(NAMES.length, 95);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for (const name of NAMES) {
    const page = storefrontPage(name);
    assert.doesNotThrow(() => utf8.decode(page), `${name} is valid UTF-8`);
    const s = page.toString("latin1");
    assert.ok(!s.includes("data-borderless-greeting") && !s.includes("data-bl-"), `${name} has no marker`);
  }
});

describe("rules that match nothing: byte-identical", () => {
  for (const name of NAMES) {
    test(name.slice(0, 16), async () => {
      const page = storefrontPage(name);
      for (const q of ["", "?charset=0"]) {
        const res = await nothing.request(`/store/${name}${q}`, { cf: CF.DE });
        assert.equal(res.status, 200, q);
        assert.equal(res.error, null, q);
        assert.equal(contextOf(res).decisions.body, "rewrite", `${q}: the body went through the rewriter`);
        // Streamed (no length) or sent whole (its own length): never a stale one.
        assert.equal(ownLength(res), "own", `${q}: Content-Length`);
        if (!res.body.equals(page)) {
          const at = [...page].findIndex((b, i) => res.body[i] !== b);
          assert.fail(
            `${q || "charset=utf-8"}: ${res.body.length} vs ${page.length} bytes, first difference at ${at}: ` +
              `${JSON.stringify(res.body.subarray(Math.max(0, at - 40), at + 40).toString())} vs ` +
              `${JSON.stringify(page.subarray(Math.max(0, at - 40), at + 40).toString())}`,
          );
        }
      }
    });
  }
});

describe("a rule on <html> only: one attribute added, nothing else changed", () => {
  for (const name of NAMES) {
    test(name.slice(0, 16), async () => {
      const page = storefrontPage(name);
      const res = await root.request(`/store/${name}`, { cf: CF.DE });
      assert.equal(res.status, 200);
      assert.equal(contextOf(res).decisions.body, "rewrite");
      assert.equal(res.body.length, page.length + ROOT_ATTR.length);
      const at = res.body.indexOf(ROOT_ATTR);
      assert.ok(at > 0, "attribute added");
      const open = res.body.lastIndexOf("<", at);
      assert.match(res.body.subarray(open, open + 5).toString(), /^<html/i, "on the html element");
      const without = Buffer.concat([res.body.subarray(0, at), res.body.subarray(at + ROOT_ATTR.length)]);
      assert.ok(without.equals(page), "everything else byte-identical");
    });
  }
});

// ---------- prices on the real pages (issue 11) ----------
// The native test (tests/storefront_prices.rs) writes each page's shop:
// its currency, decimal separator and visible main price.
const SHOPS = createRequire(import.meta.url)("./storefront-shops.json");
// Value of one unit of each currency in EUR's terms (shared with the native test).
const PER_EUR = createRequire(import.meta.url)("./storefront-fx.json").per_eur;
const PRICE_VISITORS = [["JPY", "ja-JP", CF.JP], ["EUR", "de-DE", CF.DE], ["USD", "en-US", CF.US]];
// Tags in order; the root element by name only (localization sets its lang).
const tagsOf = (html) => (html.match(/<[^>]*>/g) || []).map((t) => (/^<html/i.test(t) ? "<html>" : t));
const count = (hay, needle) => hay.split(needle).length - 1;

describe("prices on the real pages: converted in the text, no tag changed", () => {
  // One worker per shop currency and decimal separator.
  const groups = new Map();
  for (const [name, shop] of Object.entries(SHOPS)) {
    const k = `${shop.currency}${shop.decimal}`;
    if (!groups.has(k)) groups.set(k, { currency: shop.currency, decimal: shop.decimal, names: [] });
    groups.get(k).names.push(name);
  }
  const rate = (cur, to) => Number((PER_EUR[to] / PER_EUR[cur]).toPrecision(8));
  const totals = { pairs: 0, converted: 0, tagPairs: 0, tagsOk: 0, faults: [] };
  for (const g of groups.values()) {
    test(`${g.currency} shops (decimal "${g.decimal}"): ${g.names.length} page(s)`, async () => {
      const config = {
        version: 1,
        bundle: `e2e-prices-${g.currency}${g.decimal === "." ? "dot" : "comma"}`,
        site: { default_locale: "en-GB", currency: g.currency },
        localization: {
          locales: ["en-GB", "ja-JP", "de-DE", "en-US"],
          currencies: [...new Set([g.currency, "JPY", "EUR", "USD"])],
          fx_max_age_hours: 87600,
          prices: { decimal: g.decimal },
        },
      };
      const rates = Object.fromEntries(["JPY", "EUR", "USD"].filter((c) => c !== g.currency).map((c) => [c, rate(g.currency, c)]));
      const fx = { base: g.currency, as_of: "2026-11-22T00:00:00Z", rates };
      const w = await startWorker({ origin: origin.url, bundle: buildBundle(config, { fx }) });
      try {
        for (const name of g.names) {
          const shop = SHOPS[name];
          const page = storefrontPage(name).toString("utf8");
          for (const [visitor, locale, cf] of PRICE_VISITORS) {
            const res = await w.request(`/store/${name}`, { cf });
            assert.equal(res.status, 200, name);
            assert.equal(contextOf(res).decisions.currency, visitor, name);
            const out = res.body.toString("utf8");
            totals.tagPairs += 1;
            if (JSON.stringify(tagsOf(out)) === JSON.stringify(tagsOf(page))) totals.tagsOk += 1;
            else totals.faults.push(`${name} ${visitor}: tags differ`);
            if (visitor === g.currency || !shop.in_set || shop.price === null) continue;
            const want = intlPrice(locale, visitor, expectedPrice(shop.price, String(rates[visitor]), visitor));
            totals.pairs += 1;
            if (count(out, want) > count(page, want)) totals.converted += 1;
          }
        }
        totals.faults.push(...w.jsonLogs().filter((l) => l.level === "error").map((l) => JSON.stringify(l)));
      } finally {
        await w.close();
      }
    });
  }

  test("≥ 90 % of the EUR/GBP/$ pages show their main price converted; every tag intact", () => {
    assert.deepEqual(totals.faults, []);
    assert.equal(totals.tagPairs, 95 * 3);
    assert.equal(totals.tagsOk, totals.tagPairs);
    assert.equal(totals.pairs, 144);
    assert.ok(totals.converted / totals.pairs >= 0.9, `${totals.converted} of ${totals.pairs}`);
    console.log(`prices: main price converted on ${totals.converted} of ${totals.pairs} (page, visitor) pairs`);
  });
});

test("no page tripped the rewriter's memory cap or any other fault", () => {
  const faults = [...nothing.jsonLogs(), ...root.jsonLogs()].filter((l) => l.level === "error");
  assert.deepEqual(faults, []);
});
