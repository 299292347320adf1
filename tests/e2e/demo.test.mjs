// The demo shop (demo/server.mjs) behind the worker with the demo's REAL KV
// bundle (target/kv/bundle.json, built by `make demo-bundle` from demo/config.json,
// demo/fx.json and demo/i18n): per visitor the page comes back in their
// language and currency, and everything else is exactly what the shop sent.
//
// Expected values are computed here, independently of the worker: prices are
// amount × the rate in demo/fx.json, computed exactly in decimal, rounded by
// the rule in demo/config.json (harness `expectedPrice`) and formatted by this
// Node's Intl.NumberFormat; strings come from demo/i18n/<locale>.json.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { moneyFormats } from "../../scripts/money-formats.mjs";
import {
  startWorker,
  startDemoOrigin,
  request,
  contextOf,
  demoBundle,
  bundleCurrencies,
  expectedPrice,
  intlPrice,
  ownLength,
  CF,
  UA,
  ROOT,
  DEMO_CONFIG_PATH,
  DEMO_BUNDLE_PATH,
} from "./harness.mjs";

const NOW = "2026-12-24T18:30:00Z"; // Berlin 19:30, Tokyo 03:30 next day, Riyadh 21:30, New York 13:30
const CONFIG = JSON.parse(fs.readFileSync(DEMO_CONFIG_PATH, "utf8"));
const FX = JSON.parse(fs.readFileSync(path.join(ROOT, "demo", "fx.json"), "utf8"));
const I18N_DIR = path.join(ROOT, "demo", "i18n");

/** demo/translations/<locale>.po as msgid → msgstr (notation), empty without one. */
function memory(locale) {
  const f = path.join(ROOT, "demo", "translations", `${locale}.po`);
  const out = new Map();
  if (!fs.existsSync(f)) return out;
  let id = null;
  for (const line of fs.readFileSync(f, "utf8").split("\n")) {
    if (line.startsWith("msgid ")) id = JSON.parse(line.slice(6));
    else if (line.startsWith("msgstr ") && id) out.set(id, JSON.parse(line.slice(7)));
  }
  return out;
}

/**
 * The memory's translation of an element's text or attribute as the shop
 * wrote it (HTML-escaped), as plain text; undefined when there is none.
 * Numbers become placeholders <n1/>, <n2/> … and come back as the page had them.
 */
function translated(mem, html) {
  const text = html.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]);
  const numbers = [];
  const notation = text
    .replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c])
    .replace(/(?<![\p{L}\p{N}_])\d+(?:,\d{3})*(?![\p{L}\p{N}_])/gu, (n) => (numbers.push(n), `<n${numbers.length}/>`));
  const target = mem.get(notation);
  if (target === undefined) return undefined;
  return target
    .replace(/<n(\d+)\/>/g, (_, i) => numbers[Number(i) - 1])
    .replace(/&(amp|lt|gt);/g, (_, e) => ({ amp: "&", lt: "<", gt: ">" })[e]);
}

/** demo/i18n/<locale>.json entries; the default locale (en-GB) has none: the shop's own text. */
function strings(locale) {
  const f = path.join(I18N_DIR, `${locale}.json`);
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")).entries : {};
}

/** The visitors: where they are, what they should get. */
const VISITORS = [
  {
    name: "Berlin", cf: CF.DE, locale: "de-DE", source: "country", currency: "EUR",
    attrs: { country: "DE", device: "desktop", daypart: "evening", season: "winter" },
  },
  {
    name: "Tokyo", cf: CF.JP, locale: "ja-JP", source: "country", currency: "JPY",
    attrs: { country: "JP", device: "desktop", daypart: "night", season: "winter" },
  },
  {
    name: "Riyadh (Arabic, right to left)", cf: CF.SA, locale: "ar-AE", dir: "rtl", source: "country", currency: "SAR",
    attrs: { country: "SA", device: "desktop", daypart: "evening", season: "winter" },
  },
  {
    name: "Zurich (CHF, step 0.05)", cf: CF.CH, locale: "de-DE", source: "country", currency: "CHF",
    attrs: { country: "CH", device: "desktop", daypart: "evening", season: "winter" },
  },
  {
    name: "New York (USD, charm .99)", cf: CF.US, locale: "en-GB", source: "site_default", currency: "USD",
    attrs: { country: "US", device: "desktop", daypart: "afternoon", season: "winter" },
  },
  {
    // A crawler in Germany with a Japanese cookie and a German browser language:
    // none of it counts; it sees the URL's locale (the default) and the origin currency.
    name: "Googlebot", cf: CF.DE, ua: UA.googlebot, crawler: true, locale: "en-GB", source: "site_default", currency: "GBP",
    headers: { cookie: "borderless_locale=ja-JP; borderless_currency=JPY", "accept-language": "de-DE,de;q=0.9" },
    attrs: { country: "DE", device: "bot", daypart: "evening", season: "winter" },
  },
];

let demo;
let worker;
let bundle;
let links;
let catalog; // product code → price (GBP, as the shop's pages give it)

before(async () => {
  bundle = demoBundle(); // throws "… run `make demo-bundle`" when it was never built
  demo = await startDemoOrigin();
  worker = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH });
  const html = (await request(demo.url, "/")).body.toString();
  links = {
    categories: [...new Set([...html.matchAll(/href="(\/c\/[a-z]+)"/g)].map((m) => m[1]))],
    products: [...new Set([...html.matchAll(/href="(\/p\/[0-9A-Za-z]+)"/g)].map((m) => m[1]))],
    images: [...new Set([...html.matchAll(/src="(\/product-images\/[0-9A-Z]+\.svg)"/g)].map((m) => m[1]))],
  };
  // Every product is on some category page.
  catalog = new Map();
  for (const c of links.categories) {
    const page = (await request(demo.url, c)).body.toString();
    for (const m of page.matchAll(/data-product-id="([^"]+)"[^]*?data-price="([0-9.]+)"/g)) catalog.set(m[1], m[2]);
  }
});
after(async () => {
  await worker?.close();
  await demo?.close();
});

// ---------- the expected page ----------

const escText = (s) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
const escAttr = (s) => escText(s).replace(/"/g, "&quot;");

/** The visible text of a price for a visitor. */
function priceText(v, amount) {
  const rate = v.currency === CONFIG.site.currency ? 1 : FX.rates[v.currency];
  assert.ok(rate, `demo/fx.json has a rate for ${v.currency}`);
  const value = expectedPrice(amount, rate, v.currency, CONFIG.localization.rounding[v.currency]);
  return intlPrice(v.locale, v.currency, value);
}

/** Attributes of the first `<html>` start tag. */
function htmlAttrs(body) {
  const tag = /<html\b[^>]*>/.exec(body)?.[0] ?? "";
  return Object.fromEntries([...tag.matchAll(/\s([a-z-]+)(?:="([^"]*)")?/g)].map((m) => [m[1], m[2] ?? ""]));
}

/** Price spans: [{ amount, text }] (the demo's markup contract). */
function prices(body) {
  return [...body.matchAll(/<span class="price" itemprop="price" content="([0-9.]+)" data-price="\1" data-currency="GBP">([^<]*)<\/span>/g)].map(
    (m) => ({ amount: m[1], text: m[2] }),
  );
}

/**
 * The worker's markup in every `data-borderless-slot` element (the switcher
 * and the personalization blocks), and the body with each slot emptied again,
 * as the shop sent it. Slots are found with their balanced end tag.
 */
function takeSlots(body) {
  const slots = {};
  let out = "";
  let at = 0;
  const open = /<([a-z]+)\b[^>]*\sdata-borderless-slot="([^"]+)"[^>]*>/g;
  let m;
  while ((m = open.exec(body))) {
    const [tag, name] = [m[1], m[2]];
    const start = m.index + m[0].length;
    const re = new RegExp(`<(/?)${tag}\\b[^>]*>`, "g");
    re.lastIndex = start;
    let depth = 1;
    let t;
    while (depth && (t = re.exec(body))) depth += t[1] ? -1 : 1;
    assert.ok(t, `slot ${name}: end tag`);
    slots[name] = body.slice(start, t.index);
    out += body.slice(at, start);
    at = t.index;
    open.lastIndex = t.index;
  }
  return { slots, rest: out + body.slice(at) };
}

/** Prices the worker wrote into product cards of its own blocks: [{ id, text }]. */
function blockPrices(html) {
  return html
    .split(/(?=<[a-z]+\b[^>]*\sdata-borderless-product=")/)
    .map((part) => ({
      id: /^<[a-z]+\b[^>]*\sdata-borderless-product="([^"]+)"/.exec(part)?.[1],
      text: /class="borderless-price"[^>]*>([^<]*)</.exec(part)?.[1],
    }))
    .filter((c) => c.id && c.text !== undefined);
}

/**
 * What the shop's page should become for visitor `v`, apart from `<html>`'s
 * attributes and the switcher (checked on their own): every `data-i18n`
 * text and `data-i18n-attr` attribute with a dictionary entry replaced
 * (escaped), every price's visible text converted; nothing else.
 */
function expectedPage(html, v) {
  const dict = strings(v.locale);
  let s = html.replace(/<html\b[^>]*>/, "<html>");
  // Prices in the shop's own text (`Free UK delivery over £30`) are
  // converted too, and shown in the visitor's format when they keep GBP in
  // another locale (issue 11); translated text replaces them below.
  if (v.currency !== "GBP" || v.locale !== CONFIG.site.default_locale) {
    s = s.replace(/(<script\b[\s\S]*?<\/script>)|>([^<]+)</g, (m, script, text) =>
      script ? m : `>${text.replace(/£(\d+(?:\.\d\d)?)(?![\d%])/g, (_, a) => escText(priceText(v, a)))}<`,
    );
  }
  s = s.replace(/<[a-z]+\b[^>]*\sdata-i18n-attr="([^"]*)"[^>]*>/g, (tag, spec) => {
    for (const pair of spec.split(",")) {
      const [attr, key] = pair.split(":").map((x) => x.trim());
      if (!(key in dict)) continue;
      const re = new RegExp(`(\\s${attr}=")[^"]*(")`);
      assert.match(tag, re, `the demo's ${attr} attribute exists: ${tag}`);
      tag = tag.replace(re, (_, a, b) => a + escAttr(dict[key]) + b);
    }
    return tag;
  });
  s = s.replace(/(<([a-z0-9]+)\b[^>]*\sdata-i18n="([^"]+)"[^>]*>)([^<]*)(<\/\2>)/g, (m, open, _tag, key, _text, close) =>
    key in dict ? open + escText(dict[key]) + close : m,
  );
  // The shop's own product texts, from the translation memory.
  const mem = memory(v.locale);
  const text = (m, open, t, close) => {
    const x = translated(mem, t);
    return x === undefined ? m : open + escText(x) + close;
  };
  s = s.replace(/(<title>)([^<]*)(<\/title>)/, text);
  s = s.replace(/(<h[13] itemprop="name">)([^<]*)(<\/h[13]>)/g, text);
  s = s.replace(/(<p itemprop="description">)([^<]*)(<\/p>)/g, text);
  s = s.replace(/(<img\b[^>]*\salt=")([^"]*)(")/g, (m, open, t, close) => {
    const x = translated(mem, t);
    return x === undefined ? m : open + escAttr(x) + close;
  });
  s = s.replace(/(<span class="price" itemprop="price" content="([0-9.]+)"[^>]*>)[^<]*(<\/span>)/g, (_, open, amount, close) =>
    open + escText(priceText(v, amount)) + close,
  );
  return s;
}

/** Fetches a page through the worker as `v` and checks all of it. */
async function checkPage(v, p) {
  const direct = await request(demo.url, p);
  const via = await worker.request(p, {
    cf: v.cf,
    ua: v.ua,
    headers: { "x-borderless-now": NOW, ...(v.headers || {}) },
  });
  assert.equal(direct.status, 200, p);
  assert.equal(via.status, 200, p);
  const body = via.body.toString();
  const d = contextOf(via).decisions;
  assert.equal(d.body, "rewrite", p);
  assert.equal(d.locale, v.locale, p);
  assert.equal(d.locale_source, v.source, p);
  assert.equal(d.currency, v.currency, p);
  assert.equal(d.prices, v.currency === "GBP" ? "same_currency" : "converted", p);
  assert.equal(d.crawler, !!v.crawler, p);

  // <html>: lang, dir, and the config's rule attributes.
  const want = {
    lang: v.locale,
    ...(v.dir ? { dir: v.dir } : {}),
    "data-bl-country": v.attrs.country,
    "data-bl-daypart": v.attrs.daypart,
    "data-bl-device": v.attrs.device,
    "data-bl-season": v.attrs.season,
  };
  assert.deepEqual(htmlAttrs(body), want, p);

  // Every price is amount × rate, rounded by the shop's rule, formatted as Intl does.
  const got = prices(body);
  assert.ok(got.length > 0, `${p}: prices found`);
  assert.equal(got.length, prices(direct.body.toString()).length, `${p}: every price kept its markup`);
  for (const { amount, text } of got) assert.equal(text, escText(priceText(v, amount)), `${p}: price ${amount} GBP`);

  // The switcher is filled; the rest of the page is exactly the shop's, localized.
  const { slots, rest } = takeSlots(body);
  const switcher = slots.switcher;
  assert.ok(switcher, `${p}: switcher slot present`);
  assert.match(switcher, /^<nav class="borderless-switcher"/, p);
  assert.equal(rest.replace(/<html\b[^>]*>/, "<html>"), expectedPage(direct.body.toString(), v), p);
  // Prices in the worker's own blocks (personalization), if any, follow the same rules.
  for (const [name, html] of Object.entries(slots)) {
    for (const { id, text } of blockPrices(html)) {
      assert.ok(catalog.has(id), `${p}: slot ${name} shows a product the shop sells (${id})`);
      assert.equal(text, escText(priceText(v, catalog.get(id))), `${p}: slot ${name}, ${id} at ${catalog.get(id)} GBP`);
    }
  }

  // A tailored page must not sit in shared caches.
  assert.equal(direct.headers["cache-control"], "public, max-age=60");
  assert.equal(via.headers["cache-control"], "private, max-age=60", p);
  // Its own length (sent whole) or none (streamed), never the origin's.
  assert.equal(ownLength(via), "own", p);
  return { body, switcher, direct: direct.body.toString() };
}

describe("the demo bundle", () => {
  test("is the demo's config, FX rates and dictionaries, with this Node's currency formats", () => {
    const { config, fx, dicts } = bundle;
    // The bundle's config is demo/config.json as the CLI re-serializes it (defaults spelled out).
    const pick = (c) => ({
      site: c.site,
      exclude_paths: c.exclude_paths,
      locales: c.localization.locales,
      url_prefixes: c.localization.url_prefixes,
      country_locales: c.localization.country_locales,
      currencies: c.localization.currencies,
      fx_max_age_hours: c.localization.fx_max_age_hours,
      rounding: Object.fromEntries(
        Object.entries(c.localization.rounding).map(([k, r]) => [k, { step: r.step ?? null, charm: r.charm ?? null, mode: r.mode ?? "up" }]),
      ),
      labels: c.localization.switcher.labels,
    });
    assert.deepEqual(pick(config), pick(CONFIG), "bundle config = demo/config.json");
    assert.notEqual(config.bundle, CONFIG.bundle, "the pointer names a versioned bundle");
    assert.deepEqual(fx, FX, "bundle FX = demo/fx.json");
    const currencies = bundleCurrencies(CONFIG, FX);
    for (const locale of CONFIG.localization.locales) {
      const d = dicts[locale];
      assert.ok(d, `dictionary for ${locale}`);
      assert.deepEqual(d.entries, strings(locale), `${locale}: entries = demo/i18n/${locale}.json`);
      // The Intl oracle below is this process: it must format as the Node that built the bundle.
      assert.deepEqual(
        d.money,
        moneyFormats(locale, currencies),
        `${locale}: the bundle's currency formats differ from this Node's Intl (${process.version}, ICU ${process.versions.icu}); ` +
          "rebuild with `make demo-bundle` using the same Node as the tests",
      );
    }
  });

  test("the rules the visitors below exercise", () => {
    const r = CONFIG.localization.rounding;
    assert.deepEqual(r.CHF, { step: "0.05" });
    assert.deepEqual(r.USD, { charm: "0.99" });
    assert.equal(r.EUR, undefined, "EUR: default rule, up to the cent");
    // Spot checks of the oracle itself on the demo rates.
    assert.equal(expectedPrice("2.95", FX.rates.CHF, "CHF", r.CHF), 3.15); // 3.121985 → 3.15
    assert.equal(expectedPrice("2.95", FX.rates.USD, "USD", r.USD), 3.99); // 3.865975 → 3.87 → 3.99
    assert.equal(expectedPrice("2.95", FX.rates.EUR, "EUR"), 3.36); // 3.35474 → 3.36
    assert.equal(expectedPrice("2.95", FX.rates.JPY, "JPY", r.JPY), 610); // 601.4165 → 602 → 610
  });
});

describe("demo shop through the worker, per visitor", () => {
  for (const v of VISITORS) {
    describe(v.name, () => {
      test(`home page: ${v.locale}, ${v.currency}`, async () => {
        const { body, switcher } = await checkPage(v, "/");
        const dict = strings(v.locale);
        // A few strings spelled out (the whole page is compared above).
        for (const key of ["nav.basket", "header.greeting", "search.button", "home.hero_title", "footer.vat"]) {
          const text = dict[key] ?? null;
          if (text === null) continue; // the default locale: the shop's English stays
          assert.ok(body.includes(`data-i18n="${key}">${escText(text)}<`), `${key} → ${text}`);
        }
        if (dict["search.placeholder"]) assert.ok(body.includes(`placeholder="${escAttr(dict["search.placeholder"])}"`));
        if (v.locale === "en-GB") assert.match(body, /class="basket" href="\/cart" data-i18n="nav.basket">Basket</);
        // The switcher: every locale with its label, the visitor's marked current; every currency.
        const labels = CONFIG.localization.switcher.labels;
        for (const l of CONFIG.localization.locales) {
          const current = l === v.locale ? ' aria-current="true"' : "";
          assert.ok(
            switcher.includes(`<a href="/__borderless/switch?locale=${l}&amp;return=/" hreflang="${l}" lang="${l}"${current}>${escText(labels[l])}</a>`),
            `switcher link for ${l}: ${switcher}`,
          );
        }
        for (const c of CONFIG.localization.currencies) {
          const current = c === v.currency ? ' aria-current="true"' : "";
          assert.ok(switcher.includes(`<a href="/__borderless/switch?currency=${c}&amp;return=/" rel="nofollow"${current}>${c}</a>`), `currency ${c}`);
        }
        assert.equal((switcher.match(/aria-current/g) || []).length, 2, "one current locale, one current currency");
      });

      test("every category page", async () => {
        assert.ok(links.categories.length >= 3, `categories: ${links.categories}`);
        for (const p of links.categories) await checkPage(v, p);
      });

      test("product pages: machine-readable prices and JSON-LD untouched", async () => {
        assert.ok(links.products.length >= 6, `products: ${links.products}`);
        for (const p of links.products.slice(0, 6)) {
          const { body, direct } = await checkPage(v, p);
          const ld = /<script type="application\/ld\+json">(.*?)<\/script>/s.exec(body)?.[1];
          assert.equal(ld, /<script type="application\/ld\+json">(.*?)<\/script>/s.exec(direct)?.[1], `${p}: JSON-LD`);
          assert.equal(JSON.parse(ld).offers.priceCurrency, "GBP");
          assert.ok(body.includes('<meta itemprop="priceCurrency" content="GBP">'), p);
          assert.ok(body.includes(`<link rel="canonical" href="${p}">`), `${p}: the shop's canonical link stays`);
        }
      });
    });
  }
});

describe("demo shop: what passes untouched", () => {
  const via = (p, opts = {}) =>
    worker.request(p, { cf: CF.DE, ...opts, headers: { "x-borderless-now": NOW, ...(opts.headers || {}) } });

  test("a visitor in Sydney in December: summer, AUD", async () => {
    const res = await via("/", { cf: CF.AU });
    const body = res.body.toString();
    assert.match(body, /data-bl-country="AU"/);
    assert.match(body, /data-bl-season="summer"/);
    assert.match(body, /data-bl-daypart="morning"/);
    assert.equal(contextOf(res).decisions.currency, "AUD");
    assert.equal(contextOf(res).decisions.locale, "en-GB");
    assert.match(body, />A\$[0-9]/, "AUD as en-GB writes it");
  });

  test("/cart is excluded: byte-identical, English", async () => {
    const direct = await request(demo.url, "/cart");
    const res = await via("/cart");
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(direct.body));
    assert.match(res.body.toString(), /data-i18n="header.greeting">Welcome</);
    assert.match(res.body.toString(), /<html lang="en-GB">/);
    assert.equal(contextOf(res).decisions.body, "passthrough: excluded_path");
    assert.equal(res.headers["content-length"], direct.headers["content-length"]);
    assert.equal(res.headers["cache-control"], "public, max-age=60", "an untouched page keeps the shop's caching");
  });

  test("/healthz, product images and the 404 page pass untouched", async () => {
    assert.ok(links.images.length > 0);
    for (const p of ["/healthz", links.images[0], "/no/such/page"]) {
      const direct = await request(demo.url, p);
      const res = await via(p);
      assert.equal(res.status, direct.status, p);
      assert.ok(res.body.equals(direct.body), p);
      assert.equal(res.headers["content-type"], direct.headers["content-type"], p);
      assert.equal(res.headers.etag, direct.headers.etag, p);
    }
    const nf = await via("/no/such/page");
    assert.equal(nf.status, 404);
    assert.equal(contextOf(nf).decisions.body, "passthrough: status");
  });

  test("POST /cart: 303 and its Location reach the client, not followed", async () => {
    const body = "code=85123A&qty=1";
    const res = await via("/cart", {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) },
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, "/cart");
    assert.equal(res.body.length, 0);
  });

  test("If-None-Match with the shop's ETag: 304 passes through", async () => {
    const first = await request(demo.url, "/");
    assert.ok(first.headers.etag);
    const res = await via("/", { headers: { "if-none-match": first.headers.etag } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
  });

  test("HEAD / gets the headers GET / gets, without a body", async () => {
    const get = await via("/");
    const res = await via("/", { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    for (const h of ["cache-control", "vary", "etag", "content-type"]) assert.equal(res.headers[h], get.headers[h], h);
    assert.match(res.headers["cache-control"], /^private/);
  });
});
