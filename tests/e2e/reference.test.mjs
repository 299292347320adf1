// The benchmark's reference worker (bench/reference/worker.mjs: plain JS on
// the runtime's HTMLRewriter and Intl) against the Rust worker (dist/entry.js):
// both in workerd on the demo's real KV bundle (its translation memories
// included), in front of the same origin
// (the demo shop, plus three real storefront pages under /store/), asked the
// same requests. Their answers must be the same: status, the headers the
// worker decides (Cache-Control, Vary, ETag, Set-Cookie, no Content-Length,
// no Last-Modified) and the body, byte for byte; and the exposure log lines.
//
// Normalised differences: none. Every comparison below is exact. (Where the
// two could differ in principle — workerd's Intl vs the bundle's sampled
// formats for other locales, self-closing price elements — is listed at the
// top of bench/reference/worker.mjs; the Intl part is checked for all of the
// demo's locales and currencies below.) After each comparison, checks that
// the output is not trivially equal: prices converted, the visitor's locale
// and arm, blocks of every kind rendered, texts from the translation memory,
// cookies set.
//
// The clock is pinned with `x-borderless-now` (preview mode, on in both).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { Miniflare } from "miniflare";
import { startWorker, startDemoOrigin, request, loadBundle, contextOf, ownLength, CF, UA, ROOT, DEMO_BUNDLE_PATH } from "./harness.mjs";
import { storefrontPage } from "./origin.mjs";

const REFERENCE = path.join(ROOT, "bench", "reference", "worker.mjs");

/** Three real pages with prices in microdata scopes and data-price attributes. */
const STORE_PAGES = [
  "7a838a167ab318320964fc59715d17cc56e7215b51a36f646c0cfe5b7a3c8d15", // data-price spans, converted
  // itemprop=price with a priceCurrency EUR; 17 <li data-price="695"> (cents) whose content both replace
  "ccc114af83c729cc78d05a5de4be3e865dc39dc21093ff9ffebe8599fd8c9869",
  "5f885d1f831aaeeabd23917957753116a2f0d031abe9ebadbe08c1ac9dac3be9", // 133 itemscopes, meta prices, priceCurrency EUR
];
const TIMES = {
  december: "2026-12-24T18:30:00Z", // Berlin 19:30 (Christmas Eve), Tokyo 03:30, New York 13:30, Riyadh 21:30
  july: "2027-07-04T09:30:00Z", // a Sunday: New York 05:30 (Independence Day), Tokyo 18:30, Berlin 11:30
};

// ---------- visitor ids, bucketed independently of both workers (BigInt FNV-1a 64 + finalizer) ----------

const M64 = (1n << 64n) - 1n;
function bucket(id, salt) {
  let h = 0xcbf29ce484222325n;
  for (const b of [...Buffer.from(id), 0, ...Buffer.from(salt)]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & M64;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M64;
  h ^= h >> 33n;
  return Number(h >> 11n) / 2 ** 53;
}
/** The first id `000…<n>` (hex) whose arm is `want` under the demo's holdout 0.1 and its 1:1 experiment. */
function visitorId(want) {
  for (let n = 1; ; n++) {
    const id = n.toString(16).padStart(32, "0");
    const arm = bucket(id, "\u0000holdout") < 0.1 ? "holdout" : bucket(id, "recs-source") * 2 < 1 ? "recs-source:segment" : "recs-source:trending";
    if (arm === want) return id;
  }
}
const VID = {
  segment: visitorId("recs-source:segment"),
  trending: visitorId("recs-source:trending"),
  holdout: visitorId("holdout"),
};

// ---------- the two workers and the origin ----------

/** One origin for both workers: /store/<name> serves a storefront page, everything else is the demo shop. */
function startFrontOrigin(demoUrl) {
  const demo = new URL(demoUrl);
  const server = http.createServer((req, res) => {
    const m = /^\/store\/([0-9a-f]{64})$/.exec(req.url);
    if (m) {
      const page = storefrontPage(m[1]);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": page.length });
      res.end(page);
      return;
    }
    const up = http.request(
      { host: demo.hostname, port: demo.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode, r.rawHeaders);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
      }),
    ),
  );
}

let demo;
let front;
let rust;
let ref;
let bundle;
let pages;

before(async () => {
  // The demo bundle as published, translation memories included.
  const entries = loadBundle(DEMO_BUNDLE_PATH); // "… run `make demo-bundle`" when missing
  demo = await startDemoOrigin();
  front = await startFrontOrigin(demo.url);
  [rust, ref] = await Promise.all([
    startWorker({ origin: front.url, bundle: entries }),
    startWorker({ origin: front.url, bundle: entries, script: REFERENCE }),
  ]);
  const config = JSON.parse(entries.at(-1).value);
  const pack = (cc) => JSON.parse(entries.find((e) => e.key === `b/${config.bundle}/country/${cc}`).value);
  // A locale's memory: its plain targets (no placeholders), as they read on a page.
  const memory = (l) => {
    const e = entries.find((x) => x.key === `b/${config.bundle}/tm/${l}`);
    return e ? Object.values(JSON.parse(e.value).entries).filter((t) => t.length >= 12 && !/[<&]/.test(t)) : [];
  };
  bundle = { config, pack, memory };
  const home = (await request(demo.url, "/")).body.toString();
  const products = [...new Set([...home.matchAll(/href="\/p\/([0-9A-Za-z]+)"/g)].map((m) => m[1]))];
  // A product page whose product has an also-bought list in the German pack.
  const withAlso = products.find((id) => pack("DE").also_bought[id]?.length);
  assert.ok(withAlso, "a demo product with an also-bought list");
  pages = {
    home: "/",
    category: /href="(\/c\/[a-z]+)"/.exec(home)[1],
    product: `/p/${withAlso}`,
    products,
  };
});
after(async () => {
  await rust?.close();
  await ref?.close();
  await front?.close();
  await demo?.close();
});

// ---------- comparing ----------

/** The response headers a worker decides, as comparable values. */
function decided(res) {
  const h = res.headers;
  return {
    status: res.status,
    "content-type": h["content-type"],
    "cache-control": h["cache-control"],
    vary: h.vary,
    etag: h.etag,
    "last-modified": h["last-modified"],
    // A rewritten page may go out with its own length (a small page sent
    // whole) or none (streamed): both are right; a stale length never is.
    "content-length": ownLength(res),
    location: h.location,
    "set-cookie": h["set-cookie"] ?? [],
  };
}

/** Where two bodies first differ, with context, for the failure message. */
function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const at = (buf) => JSON.stringify(buf.subarray(Math.max(0, i - 120), i + 120).toString());
  return `${a.length} vs ${b.length} bytes, first difference at ${i}:\n  rust:      ${at(a)}\n  reference: ${at(b)}`;
}

/** The exposure log lines (their JSON text) logged since `from`. */
const exposures = (logs, from) =>
  logs.slice(from).flatMap((l) => {
    const at = l.indexOf('{"');
    return at >= 0 && l.includes('"event":"exposure"') ? [l.slice(at)] : [];
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends the same request to both workers; asserts the same answer; returns both. */
async function same(p, opts, what = p) {
  const [lr, lf] = [rust.logs.length, ref.logs.length];
  const [a, b] = await Promise.all([rust.request(p, opts), ref.request(p, opts)]);
  assert.equal(a.error, null, `${what}: rust body complete`);
  assert.equal(b.error, null, `${what}: reference body complete`);
  assert.deepEqual(decided(b), decided(a), `${what}: headers`);
  if (!a.body.equals(b.body)) assert.fail(`${what}: body differs: ${firstDifference(a.body, b.body)}`);
  // A page that shows blocks logs one exposure line once it has been streamed.
  const expected = a.body.includes("data-borderless-block=") ? 1 : 0;
  for (let waited = 0; waited < 5000; waited += 20) {
    if (exposures(rust.logs, lr).length >= expected && exposures(ref.logs, lf).length >= expected) break;
    await sleep(20);
  }
  assert.deepEqual(exposures(ref.logs, lf), exposures(rust.logs, lr), `${what}: exposure log`);
  return { rust: a, ref: b, body: a.body.toString(), report: contextOf(a), exposure: exposures(rust.logs, lr).map((l) => JSON.parse(l)) };
}

// ---------- the visitors ----------

const profileHours = (now) => Math.floor(Date.parse(now) / 3_600_000) - 50;

/**
 * The benchmark's visitors: consent given, a fixed visitor id, a profile
 * (two recently viewed products, two category affinities) and the shop's
 * own session cookie (so that the origin sets none).
 */
function visitors(now) {
  const [p1, p2] = pages.products;
  const cards = bundle.pack("ZZ").cards;
  const slug = (id) => cards[id].category.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  const cats = [...new Set([slug(p1), slug(p2), "kitchen", "decor"])].slice(0, 2);
  const profile = `v1~${profileHours(now)}~${p1}.${p2}~${cats[0]}:250.${cats[1]}:120`;
  const jar = (vid, extra = "") => `shop_session=bench; borderless_consent=yes; borderless_vid=${vid}; borderless_profile=${profile}${extra}`;
  return [
    { name: "DE", cf: CF.DE, headers: { cookie: jar(VID.segment), "accept-language": "de-DE,de;q=0.9,en;q=0.8" }, locale: "de-DE", currency: "EUR", arm: "recs-source:segment" },
    { name: "JP", cf: CF.JP, headers: { cookie: jar(VID.trending), "accept-language": "ja,en-US;q=0.7" }, locale: "ja-JP", currency: "JPY", arm: "recs-source:trending" },
    { name: "US", cf: CF.US, ua: UA.iphone, headers: { cookie: jar(VID.segment), "accept-language": "en-US,en;q=0.9" }, locale: "en-GB", currency: "USD", arm: "recs-source:segment" },
    { name: "SA", cf: CF.SA, headers: { cookie: jar(VID.segment) }, locale: "ar-AE", currency: "SAR", arm: "recs-source:segment", dir: "rtl" },
    { name: "CH", cf: CF.CH, headers: { cookie: jar(VID.trending), "accept-language": "de-CH,de;q=0.9,fr;q=0.6" }, locale: "de-DE", currency: "CHF", arm: "recs-source:trending" },
    { name: "GB", cf: CF.GB, ua: UA.androidChrome, headers: { cookie: jar(VID.segment) }, locale: "en-GB", currency: "GBP", arm: "recs-source:segment" },
  ];
}

const optsOf = (v, now) => ({ cf: v.cf, ua: v.ua, headers: { "x-borderless-now": now, ...v.headers } });

describe("the demo shop: Rust worker and reference worker give the same pages", () => {
  const seen = { blocks: new Set(), promos: new Set(), profileSet: 0, converted: new Set(), translated: new Set() };
  for (const [when, now] of Object.entries(TIMES)) {
    describe(when, () => {
      for (const name of ["DE", "JP", "US", "SA", "CH", "GB"]) {
        test(`${name}: home, category and product page`, async () => {
          const v = visitors(now).find((x) => x.name === name);
          for (const page of ["home", "category", "product"]) {
            const p = pages[page];
            const r = await same(p, optsOf(v, now), `${name} ${p}`);
            // Not trivially equal: what the visitor must get.
            const d = r.report.decisions;
            assert.equal(d.body, "rewrite", p);
            assert.equal(d.locale, v.locale, p);
            assert.equal(d.currency, v.currency, p);
            assert.equal(d.experiment_arm, v.arm, p);
            assert.match(r.body, new RegExp(`<html lang="${v.locale}"[^>]*${v.dir ? ' dir="rtl"' : ""}>`), p);
            if (v.currency !== "GBP") {
              assert.equal(d.prices, "converted", p);
              assert.doesNotMatch(r.body, /itemprop="price"[^>]*>£/, `${p}: no price left in GBP`);
              seen.converted.add(v.currency);
            }
            for (const b of d.blocks || []) seen.blocks.add(b.block), b.promo && seen.promos.add(b.promo);
            // The page's own text from the locale's translation memory (plain entries, as they read).
            const mem = bundle.memory(v.locale);
            if (mem.length) {
              assert.ok(mem.some((t) => r.body.includes(t)), `${p}: texts from the ${v.locale} memory`);
              seen.translated.add(v.locale);
            }
            assert.ok(r.exposure.length === 1 && r.exposure[0].blocks.length > 0, `${p}: one exposure line`);
            if (page === "product") {
              assert.ok(r.rust.headers["set-cookie"]?.some((c) => c.startsWith("borderless_profile=v1~")), `${p}: profile updated`);
              seen.profileSet++;
            }
          }
        });
      }
    });
  }

  test("every block kind, promo and currency was compared", () => {
    assert.deepEqual([...seen.blocks].sort(), ["also-bought", "promo", "recently-viewed", "segment", "trending"]);
    assert.ok(seen.promos.has("holiday") && seen.promos.has("winter-evenings") && seen.promos.size >= 4, [...seen.promos].join());
    assert.deepEqual([...seen.converted].sort(), ["CHF", "EUR", "JPY", "SAR", "USD"]);
    assert.equal(seen.profileSet, 12);
    assert.deepEqual([...seen.translated].sort(), ["de-DE", "ja-JP"]);
  });
});

describe("the demo shop: other visitors and other answers", () => {
  const now = TIMES.december;
  const pageSet = () => [pages.home, pages.category, pages.product];

  test("holdout: the origin's page, localized, with a variant ETag", async () => {
    const v = visitors(now).find((x) => x.name === "DE");
    const opts = { ...optsOf(v, now), headers: { ...optsOf(v, now).headers, cookie: v.headers.cookie.replace(VID.segment, VID.holdout) } };
    for (const p of pageSet()) {
      const r = await same(p, opts, `holdout ${p}`);
      assert.equal(r.report.decisions.experiment_arm, "holdout");
      assert.doesNotMatch(r.body, /data-borderless-block/);
      if (p !== pages.product) assert.match(r.rust.headers.etag, /^W\/"bl\.[0-9a-f]{16}\./, `${p}: variant ETag`);
    }
    // Revalidating with that tag: the origin's 304, carrying the variant's tag.
    const first = await rust.request(pages.home, opts);
    const again = { ...opts, headers: { ...opts.headers, "if-none-match": first.headers.etag } };
    const r = await same(pages.home, again, "holdout revalidation");
    assert.equal(r.rust.status, 304);
    assert.equal(r.rust.headers.etag, first.headers.etag);
    // Another variant's tag is dropped: the full page.
    const other = { ...opts, headers: { ...opts.headers, "if-none-match": 'W/"bl.0123456789abcdef.x"' } };
    assert.equal((await same(pages.home, other, "another variant's tag")).rust.status, 200);
  });

  test("no consent, Global Privacy Control, a crawler: no cookies, no blocks", async () => {
    const jar = `shop_session=bench; borderless_vid=${VID.segment}`;
    const cases = [
      { what: "no consent (DE)", cf: CF.DE, headers: { cookie: jar }, arm: "control" },
      { what: "GPC (US)", cf: CF.US, headers: { cookie: `${jar}; borderless_consent=yes`, "sec-gpc": "1" }, arm: "control" },
      { what: "Googlebot (DE)", cf: CF.DE, ua: UA.googlebot, headers: { cookie: `${jar}; borderless_locale=ja-JP`, "accept-language": "de" } },
    ];
    for (const c of cases) {
      for (const p of pageSet()) {
        const r = await same(p, { cf: c.cf, ua: c.ua, headers: { "x-borderless-now": now, ...c.headers } }, `${c.what} ${p}`);
        assert.deepEqual(r.rust.headers["set-cookie"] ?? [], [], `${c.what}: no cookie`);
        assert.doesNotMatch(r.body, /data-borderless-block/, c.what);
        assert.equal(r.report.decisions.experiment_arm ?? undefined, c.arm, c.what);
      }
    }
  });

  test("the locale and currency cookies of the switcher, and Accept-Language alone", async () => {
    const jar = `shop_session=bench; borderless_consent=yes; borderless_vid=${VID.trending}`;
    const cases = [
      { cf: CF.DE, headers: { cookie: `${jar}; borderless_locale=fr-FR; borderless_currency=USD` }, locale: "fr-FR", currency: "USD" },
      { cf: CF.JP, headers: { cookie: jar, "accept-language": "es-MX,es;q=0.9,*;q=0.1" }, locale: "es-ES", currency: "JPY" },
      { cf: CF.AU, headers: { cookie: jar, "accept-language": "it, en;q=0.5" }, locale: "it-IT", currency: "AUD" },
      { cf: CF.BR, headers: { cookie: `${jar}; borderless_currency=BRL`, "accept-language": "nl-BE" }, locale: "nl-NL", currency: "BRL" },
    ];
    for (const c of cases) {
      for (const p of pageSet()) {
        const r = await same(p, { cf: c.cf, headers: { "x-borderless-now": now, ...c.headers } }, `${c.locale}/${c.currency} ${p}`);
        assert.equal(r.report.decisions.locale, c.locale);
        assert.equal(r.report.decisions.currency, c.currency);
      }
    }
  });

  test("a first visit: both hand out a visitor id", async () => {
    const opts = { cf: CF.US, headers: { "x-borderless-now": now, cookie: "shop_session=bench" } };
    const [a, b] = await Promise.all([rust.request(pages.home, opts), ref.request(pages.home, opts)]);
    const shape = /^borderless_vid=[0-9a-f]{32}; Path=\/; Max-Age=31536000; SameSite=Lax; HttpOnly$/;
    assert.match(a.headers["set-cookie"]?.[0] ?? "", shape);
    assert.match(b.headers["set-cookie"]?.[0] ?? "", shape);
  });

  test("passthrough: excluded path, not found, an image, HEAD, POST", async () => {
    const opts = { cf: CF.DE, headers: { "x-borderless-now": now, cookie: `shop_session=bench; borderless_consent=yes; borderless_vid=${VID.segment}` } };
    const image = /src="(\/product-images\/[0-9A-Z]+\.svg)"/.exec((await request(demo.url, "/")).body.toString())[1];
    for (const p of ["/cart", "/no/such/page", image]) {
      const r = await same(p, opts);
      const direct = await request(demo.url, p, { headers: { cookie: "shop_session=bench" } });
      assert.ok(r.rust.body.equals(direct.body), `${p}: the origin's bytes`);
    }
    const body = "code=85123A&qty=1";
    const post = { ...opts, method: "POST", body, headers: { ...opts.headers, "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) } };
    const r = await same("/cart", post, "POST /cart");
    assert.equal(r.rust.status, 303);
    // Last (its GET logs an exposure): HEAD: the Rust worker gives GET's headers (issue 15); the reference passes HEAD through.
    const [head, get] = [await rust.request("/", { ...opts, method: "HEAD" }), await rust.request("/", opts)];
    assert.equal(head.body.length, 0);
    assert.equal(head.headers["cache-control"], get.headers["cache-control"]);
  });
});

describe("prices in every locale and currency of the demo", () => {
  // The pages above show a handful of locale × currency pairs. The Rust worker
  // prints what the build machine's Node Intl prints (formats sampled into the
  // bundle: tests/money_oracle.rs, and demo.test.mjs checks the bundle against
  // this Node); the reference worker prints what workerd's Intl prints. Here
  // the two Intls, for all of the demo's pairs.
  test("workerd's Intl.NumberFormat = this Node's, for 8 locales × 22 currencies", async () => {
    const loc = bundle.config.localization;
    const currencies = [...new Set([...loc.currencies, bundle.config.site.currency])];
    const amounts = [0, 0.5, 0.995, 1, 2.55, 12.3, 999.995, 1234.5, 98765.43, 1e7];
    const script = `export default { async fetch(req) {
      const { locales, currencies, amounts } = await req.json();
      const out = {};
      for (const l of locales) for (const c of currencies) {
        const f = new Intl.NumberFormat(l, { style: "currency", currency: c });
        out[l + " " + c] = amounts.map((a) => f.format(a));
      }
      return Response.json(out);
    } }`;
    const mf = new Miniflare({ modules: true, script, compatibilityDate: "2025-09-01" });
    try {
      const res = await mf.dispatchFetch("http://intl/", { method: "POST", body: JSON.stringify({ locales: loc.locales, currencies, amounts }) });
      const workerd = await res.json();
      const diffs = [];
      for (const l of loc.locales) {
        for (const c of currencies) {
          const f = new Intl.NumberFormat(l, { style: "currency", currency: c });
          amounts.forEach((a, i) => f.format(a) !== workerd[`${l} ${c}`][i] && diffs.push(`${l} ${c} ${a}: ${f.format(a)} vs ${workerd[`${l} ${c}`][i]}`));
        }
      }
      assert.deepEqual(diffs, [], `Node ${process.version} (ICU ${process.versions.icu}) vs workerd`);
      assert.equal(Object.keys(workerd).length, loc.locales.length * currencies.length);
    } finally {
      await mf.dispose();
    }
  });
});

describe("real storefront pages (/store/…): the same bytes", () => {
  const now = TIMES.december;
  for (const name of STORE_PAGES) {
    test(name.slice(0, 16), async () => {
      const original = storefrontPage(name);
      const vs = visitors(now);
      let changed = 0;
      for (const v of [vs[0], vs[2], vs[1]]) {
        const r = await same(`/store/${name}`, optsOf(v, now), `${v.name} /store/${name.slice(0, 8)}`);
        assert.equal(r.report.decisions.body, "rewrite");
        if (!r.rust.body.equals(original)) changed++;
      }
      assert.equal(changed, 3, "every visitor's page was rewritten (lang, prices)");
    });
  }
});
