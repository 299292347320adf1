// Localization in workerd against the hostile test origin's `/l10n` page,
// with custom configs and in-memory bundles (harness `buildBundle`):
// negotiation, currencies, prices, crawlers, FX freshness, missing data,
// escaping, URL prefixes, the switch endpoint, Cache-Control and KV reads.
//
// Expected prices: amount × rate computed exactly in decimal, rounded by the
// config's rule (harness `expectedPrice`, written independently of the
// worker) and formatted by this Node's Intl.NumberFormat — the same Node that
// sampled the bundle's currency formats (harness `buildBundle`).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startOrigin } from "./origin.mjs";
import { startWorker, buildBundle, request, contextOf, expectedPrice, intlPrice, CF, UA } from "./harness.mjs";

const NOW = "2026-12-24T18:30:00Z";
const XSS = "<img src=x onerror=alert(1)>";
const LOCALES = ["en-GB", "de-DE", "de-AT", "fr-FR", "fr-CH", "ja-JP", "ar-AE", "en-US"];
const ROUNDING = { USD: { charm: "0.99" }, CHF: { step: "0.05" }, JPY: { step: "10" } };
// Fresh at NOW (6.5 h old, max 24 h). No AED rate although AED is accepted.
const FX = { base: "GBP", as_of: "2026-12-24T12:00:00Z", rates: { EUR: 1.15, CHF: 1.05, JPY: 200, USD: 1.3, SAR: 4.9 } };
const RATE = { ...FX.rates, GBP: 1 };

/** A site config with localization; `extra` overrides localization fields. */
function siteConfig(bundle, extra = {}) {
  return {
    version: 1,
    bundle,
    site: { default_locale: "en-GB", currency: "GBP" },
    exclude_paths: ["/cart"],
    localization: {
      locales: LOCALES,
      country_locales: { CH: "de-DE", SA: "ar-AE", BE: "fr-FR" },
      currencies: ["GBP", "EUR", "CHF", "JPY", "USD", "SAR", "AED"],
      country_currencies: { HK: "USD" },
      fx_max_age_hours: 24,
      rounding: ROUNDING,
      switcher: { labels: { "en-GB": "English", "de-DE": "Deutsch", "fr-CH": XSS, "ja-JP": "日本語", "ar-AE": "العربية" } },
      ...extra,
    },
  };
}

/** Every locale says hello differently, so the page shows which dictionary was used. */
const DICTS = {
  "en-GB": {},
  "de-DE": {
    greeting: "Willkommen",
    "nav.home": "Startseite",
    "nav.basket": "Warenkorb",
    "search.placeholder": "Suchen…",
    "search.title": "Den Shop durchsuchen",
    "page.title": "Testladen",
    "page.description": "Ein Testladen.",
    xss: XSS,
  },
  "de-AT": { greeting: "Servus" },
  "fr-FR": { greeting: "Bienvenue" },
  // The hostile one: markup everywhere a string goes.
  "fr-CH": {
    greeting: XSS,
    xss: "<script>alert(1)</script>",
    "search.placeholder": `"><img src=x onerror=alert(1)>`,
    "search.title": `it's "quoted" & <b>bold</b>`,
    "page.title": `</title><img src=x onerror=alert(1)>`,
    "page.description": `"><script>alert(1)</script>`,
  },
  "ja-JP": { greeting: "ようこそ" },
  "ar-AE": { greeting: "أهلاً وسهلاً" },
  "en-US": { greeting: "Howdy" },
};
const GREETING = Object.fromEntries(LOCALES.map((l) => [l, DICTS[l].greeting ?? "Welcome"]));

const CONFIG_A = siteConfig("l10n-a");
const BUNDLE_A = () => buildBundle(CONFIG_A, { fx: FX, dicts: DICTS });
const CONFIG_P = siteConfig("l10n-p", { url_prefixes: true });
// Sparse: no FX at all, no fr-FR and no de-AT dictionary, but a bare `de` one (de-AT's fallback).
const CONFIG_S = siteConfig("l10n-s");
const BUNDLE_S = () =>
  buildBundle(CONFIG_S, { dicts: { ...DICTS, "fr-FR": null, "de-AT": null, de: { greeting: "Hallo (de)" } } });

let origin;
let A; // no URL prefixes, fresh FX, every dictionary
let P; // URL prefixes
let S; // sparse bundle
before(async () => {
  origin = await startOrigin();
  [A, P, S] = await Promise.all([
    startWorker({ origin: origin.url, bundle: BUNDLE_A() }),
    startWorker({ origin: origin.url, bundle: buildBundle(CONFIG_P, { fx: FX, dicts: DICTS }) }),
    startWorker({ origin: origin.url, bundle: BUNDLE_S() }),
  ]);
});
after(async () => {
  await Promise.all([A?.close(), P?.close(), S?.close()]);
  await origin?.close();
});

// ---------- helpers ----------

/**
 * GETs `p` through worker `w` as a visitor: `cf` (default Berlin), `country`
 * (preview override), `al` (Accept-Language), `cookie`, `ua`, `now`.
 * Returns { res, body, d: decisions, report }.
 */
async function visit(w, p, { cf = CF.DE, country, al, cookie, ua, now = NOW, headers = {}, rawPath } = {}) {
  const h = { "x-borderless-now": now, ...headers };
  if (country) h["x-borderless-country"] = country;
  if (al !== undefined) h["accept-language"] = al;
  if (cookie) h.cookie = cookie;
  const res = await w.request(p, { cf, ua, headers: h, rawPath });
  const report = contextOf(res);
  assert.ok(report, `${p}: preview report`);
  return { res, body: res.body.toString(), d: report.decisions, report };
}

const escText = (s) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
/** Start tag of the element with this id. */
const tagOf = (body, id) => new RegExp(`<[a-z]+\\b[^>]*\\sid="${id}"[^>]*>`).exec(body)?.[0];
/** Text of the (childless) element with this id. */
const textOf = (body, id) => new RegExp(`<([a-z]+)\\b[^>]*\\sid="${id}"[^>]*>([^<]*)</\\1>`).exec(body)?.[2];
const attrOf = (tag, name) => (tag ? new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] : undefined);
const htmlTag = (body) => /<html\b[^>]*>/.exec(body)?.[0];

/** The text a price of `amount` GBP should show to a visitor (locale, currency). */
const shown = (locale, currency, amount) =>
  intlPrice(locale, currency, expectedPrice(amount, RATE[currency], currency, ROUNDING[currency]));

// ---------- negotiation ----------

describe("locale negotiation", () => {
  // [name, visitor, locale, source]
  const CASES = [
    ["country: DE → its regional locale", { cf: CF.DE }, "de-DE", "country"],
    ["country: AT → de-AT (first listed locale of the region)", { cf: CF.AT }, "de-AT", "country"],
    ["country: CH → country_locales (de-DE) beats the regional fr-CH", { cf: CF.CH }, "de-DE", "country"],
    ["country: BE → country_locales fr-FR", { country: "BE" }, "fr-FR", "country"],
    ["country: JP", { cf: CF.JP }, "ja-JP", "country"],
    ["country: US → en-US", { cf: CF.US }, "en-US", "country"],
    ["country: SA → ar-AE", { cf: CF.SA }, "ar-AE", "country"],
    ["country without a locale (BR) → site default", { cf: CF.BR }, "en-GB", "site_default"],
    ["unknown country (XX) → site default", { country: "XX" }, "en-GB", "site_default"],
    ["Accept-Language exact (fr-CH) beats the country", { cf: CF.DE, al: "fr-CH" }, "fr-CH", "accept_language"],
    ["Accept-Language is case-insensitive", { cf: CF.DE, al: "JA-jp" }, "ja-JP", "accept_language"],
    ["Accept-Language de-CH → truncated de → a de-* locale (de-DE, first listed)", { cf: CF.FR, al: "de-CH" }, "de-DE", "accept_language"],
    ["Accept-Language de → the variant of the visitor's country (AT)", { cf: CF.AT, al: "de" }, "de-AT", "accept_language"],
    ["Accept-Language en from the US → en-US", { cf: CF.US, al: "en" }, "en-US", "accept_language"],
    ["Accept-Language en from Japan → en-GB (first listed en-*)", { cf: CF.JP, al: "en" }, "en-GB", "accept_language"],
    ["q-values order the ranges", { cf: CF.GB, al: "ja;q=0.5, fr-FR;q=0.7, es" }, "fr-FR", "accept_language"],
    ["q-values: unlisted first range skipped", { cf: CF.GB, al: "es-ES, ja;q=0.8, de;q=0.9" }, "de-DE", "accept_language"],
    ["q=0 excludes a locale", { cf: CF.DE, al: "de-DE;q=0, de;q=0.8" }, "de-AT", "accept_language"],
    ["* means no preference → country", { cf: CF.JP, al: "*" }, "ja-JP", "country"],
    ["* ranked first → country, even with a later match", { cf: CF.DE, al: "*, ja;q=0.5" }, "de-DE", "country"],
    ["a specific range beats * at equal q", { cf: CF.DE, al: "*;q=0.8, ja;q=0.8" }, "ja-JP", "accept_language"],
    ["no listed language → country", { cf: CF.DE, al: "xx-YY, pt;q=0.9" }, "de-DE", "country"],
    ["no listed language, no country locale → site default", { cf: CF.BR, al: "pt-BR, pt;q=0.9" }, "en-GB", "site_default"],
    ["malformed ranges are skipped", { cf: CF.DE, al: "<script>, ja-JP;q=0.4" }, "ja-JP", "accept_language"],
    ["cookie beats Accept-Language and country", { cf: CF.DE, al: "ja", cookie: "borderless_locale=fr-FR" }, "fr-FR", "cookie"],
    ["cookie among others, any case", { cf: CF.DE, cookie: "shop_session=1; borderless_locale=AR-ae; x=y" }, "ar-AE", "cookie"],
    ["an unlisted cookie locale is ignored", { cf: CF.DE, al: "ja", cookie: "borderless_locale=xx-YY" }, "ja-JP", "accept_language"],
  ];
  for (const [name, v, locale, source] of CASES) {
    test(name, async () => {
      const { body, d } = await visit(A, "/l10n", v);
      assert.equal(d.locale, locale, JSON.stringify(v));
      assert.equal(d.locale_source, source, JSON.stringify(v));
      assert.equal(d.crawler, false);
      assert.equal(attrOf(htmlTag(body), "lang"), locale);
      assert.equal(textOf(body, "greeting"), escText(GREETING[locale]), "the locale's dictionary");
    });
  }

  test("without url_prefixes a /de-de/ path is just a path", async () => {
    const { res, d } = await visit(A, "/de-de/l10n", { cf: CF.JP });
    assert.equal(d.locale, "ja-JP");
    assert.equal(d.locale_source, "country");
    assert.equal(res.status, 404, "the origin got the path as it was");
    assert.equal(origin.seen.at(-1).url, "/de-de/l10n");
  });
});

describe("currency", () => {
  // [name, visitor, currency, prices]
  const CASES = [
    ["DE → EUR (CLDR)", { cf: CF.DE }, "EUR", "converted"],
    ["CH → CHF", { cf: CF.CH }, "CHF", "converted"],
    ["JP → JPY", { cf: CF.JP }, "JPY", "converted"],
    ["SA → SAR", { cf: CF.SA }, "SAR", "converted"],
    ["HK → USD (country_currencies)", { country: "HK" }, "USD", "converted"],
    ["GB → GBP, same currency", { cf: CF.GB }, "GBP", "same_currency"],
    ["BR → BRL is not accepted → GBP", { cf: CF.BR }, "GBP", "same_currency"],
    ["cookie USD beats the country", { cf: CF.DE, cookie: "borderless_currency=USD" }, "USD", "converted"],
    ["cookie GBP (the site's) from Japan", { cf: CF.JP, cookie: "borderless_currency=GBP" }, "GBP", "same_currency"],
    ["cookie not accepted (SEK) → the country's", { cf: CF.DE, cookie: "borderless_currency=SEK" }, "EUR", "converted"],
    ["cookie garbage → the country's", { cf: CF.DE, cookie: 'borderless_currency="><b>x' }, "EUR", "converted"],
    ["accepted but no rate (AED) → origin currency", { country: "AE" }, "GBP", "no_rate"],
  ];
  for (const [name, v, currency, prices] of CASES) {
    test(name, async () => {
      const { body, d } = await visit(A, "/l10n", v);
      assert.equal(d.currency, currency);
      assert.equal(d.prices, prices);
      assert.equal(textOf(body, "p1"), shown(d.locale, currency, "2.55"));
    });
  }
});

// ---------- prices ----------

describe("prices", () => {
  const VISITORS = [
    ["Berlin, EUR (up to the cent)", { cf: CF.DE }, "de-DE", "EUR"],
    ["Zurich, CHF (step 0.05)", { cf: CF.CH }, "de-DE", "CHF"],
    ["Tokyo, JPY (step 10)", { cf: CF.JP }, "ja-JP", "JPY"],
    ["New York, USD (charm .99)", { cf: CF.US }, "en-US", "USD"],
    ["Riyadh, SAR", { cf: CF.SA }, "ar-AE", "SAR"],
  ];
  for (const [name, v, locale, currency] of VISITORS) {
    test(name, async () => {
      const { body, d } = await visit(A, "/l10n", v);
      assert.equal(d.locale, locale);
      assert.equal(d.currency, currency);
      assert.equal(d.prices, "converted");
      // Microdata price in a GBP offer scope, data-price with and without data-currency.
      assert.equal(textOf(body, "p1"), shown(locale, currency, "2.55"), "itemprop=price in a GBP scope");
      assert.equal(textOf(body, "p2"), shown(locale, currency, "10.00"), "data-price + data-currency");
      assert.equal(textOf(body, "p3"), shown(locale, currency, "1234.50"), "data-price, site currency");
      // A currency the shop does not declare: left exactly as the origin
      // wrote it (issue 11; the old handler replaced the element's content).
      assert.equal(textOf(body, "p4"), "$3.00", "a USD price stays as written");
      // Machine-readable values are untouched.
      assert.equal(tagOf(body, "p1"), '<span id="p1" itemprop="price" content="2.55">');
      assert.equal(tagOf(body, "p2"), '<span id="p2" data-price="10.00" data-currency="GBP">');
      assert.ok(body.includes('<meta id="p6" itemprop="price" content="2.55">'));
      assert.ok(body.includes('<meta itemprop="priceCurrency" content="GBP">'));
      assert.ok(body.includes('<meta itemprop="priceCurrency" content="USD">'));
      assert.ok(body.includes('<script type="application/ld+json">{"@type":"Offer","price":"2.55","priceCurrency":"GBP"}</script>'));
    });
  }

  test("the rounding rules, spelled out", () => {
    // 2.55 GBP: EUR 2.9325 → 2.94; CHF 2.6775 → 2.70; JPY 510 → 510; USD 3.315 → 3.32 → 3.99.
    assert.equal(expectedPrice("2.55", 1.15, "EUR"), 2.94);
    assert.equal(expectedPrice("2.55", 1.05, "CHF", ROUNDING.CHF), 2.7);
    assert.equal(expectedPrice("2.55", 200, "JPY", ROUNDING.JPY), 510);
    assert.equal(expectedPrice("1234.50", 200, "JPY", ROUNDING.JPY), 246900);
    assert.equal(expectedPrice("2.55", 1.3, "USD", ROUNDING.USD), 3.99);
    assert.equal(expectedPrice("10.00", 1.3, "USD", ROUNDING.USD), 13.99);
    assert.equal(expectedPrice("0.42", 1.15, "EUR"), 0.49);
  });

  test("a price outside any itemscope is in the site currency, whatever a closed scope said", async () => {
    const { body } = await visit(A, "/l10n", { cf: CF.DE });
    assert.equal(textOf(body, "p5"), shown("de-DE", "EUR", "0.42"));
  });

  test("the site's own visitors: GBP reformatted for the locale, not converted", async () => {
    const gb = await visit(A, "/l10n", { cf: CF.GB });
    assert.equal(textOf(gb.body, "p1"), "£2.55");
    assert.equal(textOf(gb.body, "p3"), "£1,234.50");
    const fr = await visit(A, "/l10n", { cf: CF.DE, cookie: "borderless_locale=fr-FR; borderless_currency=GBP" });
    assert.equal(textOf(fr.body, "p3"), intlPrice("fr-FR", "GBP", 1234.5));
  });
});

// ---------- crawlers ----------

describe("crawlers", () => {
  const LURES = { al: "ja-JP", cookie: "borderless_locale=fr-FR; borderless_currency=JPY" };

  test("Googlebot: no locale from cookie, header or geo; origin currency", async () => {
    const { body, d } = await visit(A, "/l10n", { cf: CF.DE, ua: UA.googlebot, ...LURES });
    assert.equal(d.crawler, true);
    assert.equal(d.locale, "en-GB");
    assert.equal(d.locale_source, "site_default");
    assert.equal(d.currency, "GBP");
    assert.equal(d.prices, "same_currency");
    assert.equal(textOf(body, "greeting"), "Welcome");
    assert.equal(textOf(body, "p1"), "£2.55");
  });

  test("a verified bot (cf.botManagement) with a browser UA", async () => {
    const cf = { ...CF.JP, botManagement: { verifiedBot: true, score: 99 } };
    const { d } = await visit(A, "/l10n", { cf, ...LURES });
    assert.equal(d.crawler, true);
    assert.equal(d.locale, "en-GB");
    assert.equal(d.currency, "GBP");
  });

  test("with URL prefixes a crawler gets the URL's locale, still the origin currency", async () => {
    const fr = await visit(P, "/fr-fr/l10n", { cf: CF.JP, ua: UA.googlebot, ...LURES });
    assert.deepEqual([fr.d.locale, fr.d.locale_source, fr.d.currency, fr.d.crawler], ["fr-FR", "url_prefix", "GBP", true]);
    assert.equal(textOf(fr.body, "greeting"), "Bienvenue");
    assert.equal(textOf(fr.body, "p1"), intlPrice("fr-FR", "GBP", 2.55));
    const plain = await visit(P, "/l10n", { cf: CF.JP, ua: UA.googlebot, ...LURES });
    assert.deepEqual([plain.d.locale, plain.d.locale_source, plain.d.currency], ["en-GB", "site_default", "GBP"]);
  });
});

// ---------- FX freshness, missing data ----------

describe("FX rates and missing data", () => {
  test("rates exactly fx_max_age_hours old are used; a second older are not", async () => {
    const edge = await visit(A, "/l10n", { cf: CF.DE, now: "2026-12-25T12:00:00Z" });
    assert.equal(edge.d.prices, "converted");
    assert.equal(edge.d.currency, "EUR");
    const stale = await visit(A, "/l10n", { cf: CF.DE, now: "2026-12-25T12:00:01Z" });
    assert.equal(stale.d.prices, "stale_rates");
    assert.equal(stale.d.currency, "GBP", "the reported currency is reset to the origin's");
    assert.equal(textOf(stale.body, "p1"), intlPrice("de-DE", "GBP", 2.55), "GBP, German format");
    assert.equal(textOf(stale.body, "p3"), intlPrice("de-DE", "GBP", 1234.5));
    assert.equal(textOf(stale.body, "greeting"), "Willkommen", "text is still translated");
  });

  test("rates from a day in the future are not trusted either", async () => {
    const { d } = await visit(A, "/l10n", { cf: CF.DE, now: "2026-12-23T12:00:00Z" });
    assert.equal(d.prices, "stale_rates");
    assert.equal(d.currency, "GBP");
  });

  test("no FX value in the bundle: prices stay GBP (no_rates)", async () => {
    const { body, d } = await visit(S, "/l10n", { cf: CF.DE });
    assert.equal(d.locale, "de-DE");
    assert.equal(d.prices, "no_rates");
    assert.equal(d.currency, "GBP");
    assert.equal(textOf(body, "p1"), intlPrice("de-DE", "GBP", 2.55));
    assert.equal(textOf(body, "greeting"), "Willkommen");
  });

  test("no dictionary for the locale: lang is set, text and prices stay as the origin wrote them", async () => {
    const { body, d } = await visit(S, "/l10n", { cf: CF.FR });
    assert.equal(d.locale, "fr-FR");
    assert.equal(attrOf(htmlTag(body), "lang"), "fr-FR");
    assert.equal(textOf(body, "greeting"), "Welcome");
    assert.equal(textOf(body, "p1"), "£2.55");
    assert.equal(textOf(body, "p4"), "$3.00");
    const reads = d.kv.filter((r) => r.key.includes("/dict/")).map((r) => [r.key, r.found]);
    assert.deepEqual(reads, [
      ["b/l10n-s/dict/fr-FR", false],
      ["b/l10n-s/dict/fr", false],
    ]);
    // Nothing else of the page changed.
    const direct = (await request(origin.url, "/l10n")).body.toString();
    const strip = (s) => s.replace(/<html\b[^>]*>/, "<html>").replace(/(<div id="slot" data-borderless-slot="switcher">).*?(<\/div>)/s, "$1$2");
    assert.equal(strip(body), strip(direct));
  });

  test("a regional locale without its own dictionary falls back to the language's", async () => {
    const { body, d } = await visit(S, "/l10n", { cf: CF.AT });
    assert.equal(d.locale, "de-AT");
    assert.equal(textOf(body, "greeting"), "Hallo (de)");
    assert.deepEqual(
      d.kv.filter((r) => r.key.includes("/dict/")).map((r) => [r.key, r.found]),
      [
        ["b/l10n-s/dict/de-AT", false],
        ["b/l10n-s/dict/de", true],
      ],
    );
    assert.equal(textOf(body, "p1"), intlPrice("de", "GBP", 2.55), "the fallback's formats");
  });
});

// ---------- escaping ----------

describe("nothing from a dictionary, the config or the URL becomes markup", () => {
  const noMarkup = (body) => {
    assert.ok(!body.includes("<img"), "no <img> element anywhere");
    assert.ok(!/<script>alert/.test(body), "no injected <script>");
    assert.ok(!/\son(click|error)=/i.test(body.replace(/onerror=alert\(1\)&gt;/g, "")), "no event handler attribute");
  };

  test("dictionary values: text, attributes, <title>, meta content", async () => {
    const { body, d } = await visit(A, "/l10n", { cf: CF.CH, cookie: "borderless_locale=fr-CH" });
    assert.equal(d.locale, "fr-CH");
    noMarkup(body);
    assert.equal(textOf(body, "greeting"), "&lt;img src=x onerror=alert(1)&gt;");
    assert.ok(body.includes('<p id="xss" data-i18n="xss">&lt;script&gt;alert(1)&lt;/script&gt;</p>'));
    assert.ok(body.includes('<title data-i18n="page.title">&lt;/title&gt;&lt;img src=x onerror=alert(1)&gt;</title>'));
    const input = tagOf(body, "q");
    assert.equal(attrOf(input, "placeholder"), "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    assert.equal(attrOf(input, "title"), "it's &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;");
    // Only inert attributes are ever set.
    for (const a of ["onclick", "href", "style"]) assert.equal(attrOf(input, a), undefined, a);
    assert.ok(body.includes('<meta name="description" content="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" data-i18n-attr="content:page.description">'));
    assert.ok(body.includes('<meta http-equiv="refresh" content="600" data-i18n-attr="content:page.description">'), "never on http-equiv");
  });

  test("switcher labels", async () => {
    const { body } = await visit(A, "/l10n", { cf: CF.DE });
    noMarkup(body);
    assert.ok(body.includes('hreflang="fr-CH" lang="fr-CH">&lt;img src=x onerror=alert(1)&gt;</a>'));
  });

  test("the page URL (raw markup in the query) in switcher links", async () => {
    const { res, body } = await visit(A, `/l10n?q=<img%20src=x%20onerror=alert(1)>&a='"&b=</a>`, { rawPath: true });
    assert.equal(res.status, 200);
    noMarkup(body);
    assert.ok(!body.includes("</a>&"));
    const returns = [...body.matchAll(/return=([^"]*)"/g)].map((m) => m[1]);
    assert.ok(returns.length >= 8);
    for (const r of returns) assert.match(r, /^[A-Za-z0-9%._~/-]+$/, "return= is percent-encoded");
  });

  test("the page URL in hreflang and canonical links (URL prefixes)", async () => {
    const { res, body } = await visit(P, `/de-de/l10n/'"><img%20src=x>?q=<img%20src=x%20onerror=alert(1)>&a='"`, { rawPath: true });
    assert.equal(res.status, 200);
    noMarkup(body);
    const head = /<head>(.*)<\/head>/s.exec(body)[1];
    const links = [...head.matchAll(/<link\b[^>]*>/g)].map((m) => m[0]);
    assert.equal(links.length, LOCALES.length + 2, "alternates, x-default, canonical");
    for (const l of links) assert.match(l, /^<link rel="(alternate|canonical)"( hreflang="[A-Za-z-]+")? href="[^"<>]*">$/, l);
  });

  test("a locale cookie or Accept-Language with markup is ignored", async () => {
    const { body, d } = await visit(A, "/l10n", { cf: CF.JP, cookie: `borderless_locale="><img src=x>`, al: "<img src=x>" });
    assert.equal(d.locale, "ja-JP");
    assert.equal(d.locale_source, "country");
    noMarkup(body);
  });
});

// ---------- the <html> element ----------

describe("<html> lang and dir", () => {
  test("Arabic: lang and dir=rtl", async () => {
    const { body } = await visit(A, "/l10n", { cf: CF.SA });
    assert.equal(attrOf(htmlTag(body), "lang"), "ar-AE");
    assert.equal(attrOf(htmlTag(body), "dir"), "rtl");
  });

  test("a right-to-left origin page becomes ltr for German, stays rtl for Arabic", async () => {
    const de = await visit(A, "/l10n?dir=rtl", { cf: CF.DE });
    assert.equal(attrOf(htmlTag(de.body), "dir"), "ltr");
    const ar = await visit(A, "/l10n?dir=rtl", { cf: CF.SA });
    assert.equal(attrOf(htmlTag(ar.body), "dir"), "rtl");
  });

  test("the default locale: lang as the origin had it, no dir", async () => {
    const { body } = await visit(A, "/l10n", { cf: CF.GB });
    assert.equal(htmlTag(body), '<html lang="en-GB">');
  });
});

// ---------- URL prefixes ----------

describe("URL prefixes", () => {
  test("the origin is asked for the path without the prefix, query kept", async () => {
    const { res, d } = await visit(P, "/de-de/l10n/sub?x=1&y=2", { cf: CF.JP, cookie: "borderless_locale=ja-JP" });
    assert.equal(res.status, 200);
    assert.equal(origin.seen.at(-1).url, "/l10n/sub?x=1&y=2");
    assert.deepEqual([d.locale, d.locale_source], ["de-DE", "url_prefix"]);
    assert.equal(d.currency, "JPY", "currency still follows the visitor");
  });

  test("prefix matching is case-insensitive; the bare prefix is the home page", async () => {
    const { d } = await visit(P, "/DE-AT/l10n", { cf: CF.JP });
    assert.equal(d.locale, "de-AT");
    assert.equal(origin.seen.at(-1).url, "/l10n");
    await visit(P, "/ja-jp", { cf: CF.DE });
    assert.equal(origin.seen.at(-1).url, "/");
    await visit(P, "/ja-jp?x=1", { cf: CF.DE });
    assert.equal(origin.seen.at(-1).url, "/?x=1");
  });

  test("an unlisted prefix is a normal path", async () => {
    const { res, d } = await visit(P, "/pt-br/l10n", { cf: CF.JP });
    assert.equal(res.status, 404);
    assert.equal(origin.seen.at(-1).url, "/pt-br/l10n");
    assert.equal(d.locale_source, "country");
  });

  test("hreflang for every locale (default unprefixed) + x-default + self canonical, in <head>", async () => {
    const { res, body } = await visit(P, "/ja-jp/l10n?x=1&y=2", { cf: CF.DE });
    const base = new URL(P.base).origin;
    const want = [
      ...LOCALES.map((l) => {
        const prefix = l === "en-GB" ? "" : `/${l.toLowerCase()}`;
        return `<link rel="alternate" hreflang="${l}" href="${base}${prefix}/l10n?x=1&amp;y=2">`;
      }),
      `<link rel="alternate" hreflang="x-default" href="${base}/l10n?x=1&amp;y=2">`,
      `<link rel="canonical" href="${base}/ja-jp/l10n?x=1&amp;y=2">`,
    ].join("");
    assert.equal(res.status, 200);
    assert.ok(body.includes(`${want}</head>`), body.slice(0, 2000));
    assert.equal(body.match(/rel="canonical"/g).length, 1);
  });

  test("a page with its own canonical keeps it and gets no second one", async () => {
    const { body } = await visit(P, "/ja-jp/l10n?canonical=1", { cf: CF.DE });
    assert.equal(body.match(/rel="canonical"/g).length, 1);
    assert.ok(body.includes('<link rel="canonical" href="https://shop.example/own">'));
    assert.equal(body.match(/rel="alternate"/g).length, LOCALES.length + 1);
  });

  test("root-relative links and forms get the prefix; others do not", async () => {
    const { body } = await visit(P, "/de-de/l10n", { cf: CF.GB });
    assert.equal(attrOf(tagOf(body, "home"), "href"), "/de-de/l10n");
    assert.equal(attrOf(tagOf(body, "basket"), "href"), "/de-de/cart");
    assert.equal(attrOf(tagOf(body, "search"), "action"), "/de-de/search");
    assert.equal(attrOf(tagOf(body, "cdn"), "href"), "//cdn.example/x.css");
    assert.equal(attrOf(tagOf(body, "ext"), "href"), "https://other.example/");
    assert.equal(attrOf(tagOf(body, "rel"), "href"), "relative/page");
    assert.equal(attrOf(tagOf(body, "frag"), "href"), "#top");
    assert.equal(attrOf(tagOf(body, "sw"), "href"), "/__borderless/switch?locale=de-DE");
  });

  test("the default locale's pages: no prefix on links, canonical unprefixed", async () => {
    const { body, d } = await visit(P, "/l10n", { cf: CF.GB });
    assert.equal(d.locale, "en-GB");
    assert.equal(attrOf(tagOf(body, "home"), "href"), "/l10n");
    assert.ok(body.includes(`<link rel="canonical" href="${new URL(P.base).origin}/l10n">`));
  });

  test("switcher: direct links to each locale's URL", async () => {
    const { body } = await visit(P, "/de-de/l10n?x=1", { cf: CF.GB });
    for (const l of LOCALES) {
      const href = l === "en-GB" ? "/l10n?x=1" : `/${l.toLowerCase()}/l10n?x=1`;
      assert.ok(body.includes(`<a href="${href}" hreflang="${l}" lang="${l}"`), l);
    }
  });

  test("exclude_paths apply to the unprefixed path", async () => {
    const { res, d } = await visit(P, "/de-de/cart", { cf: CF.DE });
    assert.equal(d.body, "passthrough: excluded_path");
    assert.equal(origin.seen.at(-1).url, "/cart");
    assert.equal(res.headers["cache-control"], "public, max-age=60");
  });

  test("HEAD and POST on a prefixed URL reach the origin without the prefix", async () => {
    const head = await P.request("/de-de/l10n?x=1", { method: "HEAD", cf: CF.DE });
    assert.deepEqual([origin.seen.at(-1).method, origin.seen.at(-1).url], ["HEAD", "/l10n?x=1"]);
    assert.equal(head.status, 200);
    const body = "qty=1";
    const post = await P.request("/de-de/post", {
      method: "POST",
      cf: CF.DE,
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) },
    });
    assert.deepEqual([origin.seen.at(-1).method, origin.seen.at(-1).url], ["POST", "/post"]);
    assert.equal(post.status, 200);
    assert.match(post.body.toString(), /POST 5 /);
  });

  test("switching currency on a prefixed page keeps its locale", async () => {
    const { body } = await visit(P, "/de-de/l10n?x=1", { cf: CF.GB });
    const link = /<a href="([^"]*currency=EUR[^"]*)"/.exec(body)?.[1]?.replace(/&amp;/g, "&");
    assert.ok(link, "EUR link in the switcher");
    const res = await P.request(link, { cf: CF.GB });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, "/de-de/l10n?x=1");
  });
});

// ---------- the switch endpoint ----------

describe("/__borderless/switch", () => {
  const COOKIE = "; Path=/; Max-Age=31536000; SameSite=Lax";
  const sw = (w, q) => w.request(`/__borderless/switch${q}`, { cf: CF.DE, rawPath: true });
  const cookies = (res) => [].concat(res.headers["set-cookie"] || []);

  test("locale: 303, cookie, back to the return path; answered by the worker", async () => {
    const before = origin.seen.length;
    const res = await sw(A, "?locale=de-AT&return=/p/1");
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, "/p/1");
    assert.deepEqual(cookies(res), [`borderless_locale=de-AT${COOKIE}`]);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(res.body.length, 0);
    assert.equal(origin.seen.length, before, "the origin never sees the switch");
  });

  test("case-insensitive locale, encoded return with a query", async () => {
    const res = await sw(A, "?locale=ja-jp&return=%2Fc%2Fx%3Fa%3D1%26b%3D2");
    assert.equal(res.headers.location, "/c/x?a=1&b=2");
    assert.deepEqual(cookies(res), [`borderless_locale=ja-JP${COOKIE}`]);
  });

  test("currency alone, and both together", async () => {
    const cur = await sw(A, "?currency=CHF");
    assert.equal(cur.headers.location, "/");
    assert.deepEqual(cookies(cur), [`borderless_currency=CHF${COOKIE}`]);
    const both = await sw(A, "?locale=fr-FR&currency=JPY&return=/l10n");
    assert.deepEqual(cookies(both), [`borderless_locale=fr-FR${COOKIE}`, `borderless_currency=JPY${COOKIE}`]);
  });

  test("unlisted locales, unaccepted currencies and cookie-attribute smuggling set nothing", async () => {
    for (const q of [
      "?locale=xx-YY&currency=SEK&return=/a",
      "?locale=de-DE%3B%20Domain%3Devil.example&return=/a",
      "?currency=EUR%3B%20Domain%3Devil.example&return=/a",
      "?currency=eur&return=/a",
    ]) {
      const res = await sw(A, q);
      assert.equal(res.status, 303, q);
      assert.equal(res.headers.location, "/a", q);
      assert.deepEqual(cookies(res), [], q);
    }
  });

  test("open-redirect attempts go to /", async () => {
    for (const r of [
      "//evil.example/",
      "%2F%2Fevil.example",
      "https://evil.example/",
      "https%3A%2F%2Fevil.example%2F",
      "/%5Cevil.example",
      "%5C%5Cevil.example",
      "/\\evil.example",
      "\\/evil.example",
      "/%0D%0ASet-Cookie:%20x=1",
      "/%0d%0aLocation:%20https://evil.example",
      "/%09/evil.example",
      "javascript:alert(1)",
      "evil.example",
      "%ZZ",
      "",
    ]) {
      const res = await sw(A, `?locale=de-DE&return=${r}`);
      assert.equal(res.status, 303, r);
      assert.equal(res.headers.location, "/", r);
      assert.deepEqual(cookies(res), [`borderless_locale=de-DE${COOKIE}`], `${r}: no injected header`);
    }
  });

  test("Location is always an ASCII URI reference", async () => {
    for (const [r, path] of [
      ["/%C3%BCber%20uns", "/über uns"],
      ["/%E6%97%A5%E6%9C%AC", "/日本"],
    ]) {
      const res = await sw(A, `?locale=de-DE&return=${r}`);
      assert.equal(res.status, 303, r);
      const raw = res.rawHeaders[res.rawHeaders.findIndex((h) => h.toLowerCase() === "location") + 1];
      assert.match(raw, /^[\x21-\x7e]+$/, `${r}: Location ${JSON.stringify(raw)}`);
      assert.equal(decodeURI(raw), path);
    }
  });

  test("with URL prefixes the return path gets the chosen locale's prefix", async () => {
    for (const [q, loc] of [
      ["?locale=de-DE&return=/p/1%3Fx%3D1", "/de-de/p/1?x=1"],
      ["?locale=en-GB&return=/de-de/p/1", "/p/1"],
      ["?locale=ja-JP&return=/de-de/p/1", "/ja-jp/p/1"],
      ["?locale=ar-AE&return=/", "/ar-ae/"],
      ["?locale=de-DE&return=//evil.example/", "/de-de/"],
    ]) {
      const res = await sw(P, q);
      assert.equal(res.status, 303, q);
      assert.equal(res.headers.location, loc, q);
    }
  });

  test("the cookies it sets decide the next page", async () => {
    const res = await sw(A, "?locale=ja-JP&currency=USD&return=/l10n");
    const jar = cookies(res).map((c) => c.split(";")[0]).join("; ");
    const { body, d } = await visit(A, res.headers.location, { cf: CF.DE, al: "de", cookie: jar });
    assert.deepEqual([d.locale, d.locale_source, d.currency], ["ja-JP", "cookie", "USD"]);
    assert.equal(textOf(body, "p1"), shown("ja-JP", "USD", "2.55"));
  });
});

// ---------- caching ----------

describe("Cache-Control of localized pages", () => {
  for (const [cc, want] of [
    ["public, max-age=60", "private, max-age=60"],
    ["public, s-maxage=600, max-age=60, proxy-revalidate, stale-while-revalidate=30, must-revalidate", "private, max-age=60, stale-while-revalidate=30, must-revalidate"],
    ["Public, S-Maxage=5, max-age=5", "private, max-age=5"],
    ["no-store", "private, no-store"],
    ["none", "private"],
  ]) {
    test(`origin "${cc}" → "${want}"`, async () => {
      const { res, d } = await visit(A, `/l10n?cc=${encodeURIComponent(cc)}`, { cf: CF.DE });
      assert.equal(d.body, "rewrite");
      assert.equal(res.headers["cache-control"], want);
    });
  }

  test("a validator of one localized variant never revalidates another", async () => {
    const de = await visit(A, "/etag", { cf: CF.DE });
    const jp = await visit(A, "/etag", { cf: CF.JP });
    assert.equal(de.res.status, 200);
    assert.equal(attrOf(htmlTag(de.body), "lang"), "de-DE");
    assert.equal(attrOf(htmlTag(jp.body), "lang"), "ja-JP");
    const [e1, e2] = [de.res.headers.etag, jp.res.headers.etag];
    if (e1 && e2) assert.notEqual(e1, e2, "two different bodies, one ETag");
    if (e1) {
      const again = await visit(A, "/etag", { cf: CF.JP, headers: { "if-none-match": e1 } });
      assert.equal(again.res.status, 200, "the German page's ETag does not validate the Japanese page");
      assert.equal(attrOf(htmlTag(again.body), "lang"), "ja-JP");
      // The same variant still revalidates: 304 with the variant's own ETag.
      const same = await visit(A, "/etag", { cf: CF.DE, headers: { "if-none-match": e1 } });
      assert.equal(same.res.status, 304);
      assert.equal(same.res.headers.etag, e1);
    }
  });

  test("even the default locale's page is private (it carries the visitor's switcher state)", async () => {
    const { res } = await visit(A, "/l10n", { cf: CF.GB });
    assert.equal(res.headers["cache-control"], "private, max-age=60");
  });
});

// ---------- KV reads ----------

describe("KV reads", () => {
  let fresh;
  let sparse;
  before(async () => {
    [fresh, sparse] = await Promise.all([
      startWorker({ origin: origin.url, bundle: BUNDLE_A() }),
      startWorker({ origin: origin.url, bundle: BUNDLE_S() }),
    ]);
  });
  after(async () => {
    await Promise.all([fresh?.close(), sparse?.close()]);
  });
  const reads = (d) => d.kv.map((r) => `${r.key} ${r.source} ${r.found}`);

  test("first request: config, dictionary and FX from KV; then all from the isolate", async () => {
    // FX: the live key (absent here; its absence is kept 60 s) and the bundle's rates.
    const first = await visit(fresh, "/l10n", { cf: CF.DE });
    assert.deepEqual(reads(first.d), ["config kv true", "b/l10n-a/dict/de-DE kv true", "fx/live kv false", "b/l10n-a/fx/rates kv true"]);
    const second = await visit(fresh, "/l10n", { cf: CF.DE });
    assert.deepEqual(reads(second.d), ["config isolate true", "b/l10n-a/dict/de-DE isolate true", "fx/live isolate false", "b/l10n-a/fx/rates isolate true"]);
    // Another locale: only its dictionary is new.
    const jp = await visit(fresh, "/l10n", { cf: CF.JP });
    assert.deepEqual(reads(jp.d), ["config isolate true", "b/l10n-a/dict/ja-JP kv true", "fx/live isolate false", "b/l10n-a/fx/rates isolate true"]);
    // The origin currency needs no rates.
    const gb = await visit(fresh, "/l10n", { cf: CF.GB });
    assert.deepEqual(reads(gb.d), ["config isolate true", "b/l10n-a/dict/en-GB kv true"]);
  });

  test("bundle values are immutable: a changed value in KV is not re-read", async () => {
    await visit(fresh, "/l10n", { cf: CF.DE }); // cached by now in any case
    await fresh.kv.put("b/l10n-a/dict/de-DE", JSON.stringify({ locale: "de-DE", entries: { greeting: "GEÄNDERT" } }));
    const { body, d } = await visit(fresh, "/l10n", { cf: CF.DE });
    assert.equal(textOf(body, "greeting"), "Willkommen");
    assert.ok(reads(d).includes("b/l10n-a/dict/de-DE isolate true"));
  });

  test("missing values are remembered too", async () => {
    const first = await visit(sparse, "/l10n", { cf: CF.FR });
    assert.deepEqual(reads(first.d), ["config kv true", "b/l10n-s/dict/fr-FR kv false", "b/l10n-s/dict/fr kv false", "fx/live kv false", "b/l10n-s/fx/rates kv false"]);
    const second = await visit(sparse, "/l10n", { cf: CF.FR });
    assert.deepEqual(reads(second.d), [
      "config isolate true",
      "b/l10n-s/dict/fr-FR isolate false",
      "b/l10n-s/dict/fr isolate false",
      "fx/live isolate false",
      "b/l10n-s/fx/rates isolate false",
    ]);
  });
});
