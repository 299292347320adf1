// Personalization end to end in workerd: the demo shop behind the worker with
// the demo's real KV bundle (target/kv/bundle.json, built from the Online
// Retail log with demo/config.json), plus a hostile bundle for the XSS corpus.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import {
  startWorker,
  startDemoOrigin,
  contextOf,
  sleep,
  demoBundle,
  buildBundle,
  CF,
  UA,
  DEMO_BUNDLE_PATH,
} from "./harness.mjs";
import { visitorId, blocksOf, executable, XSS } from "./personal.mjs";

// ---------- helpers ----------

/** Polls until `fn` returns something truthy (log lines arrive asynchronously). */
async function eventually(fn, ms = 2000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v || Date.now() > end) return v;
    await sleep(20);
  }
}

const setCookies = (res) => [res.headers["set-cookie"] || []].flat();
const borderlessCookies = (res) => setCookies(res).filter((c) => c.startsWith("borderless_"));
const cookiePair = (c) => c.split(";")[0];

// ---------- the demo ----------

const DE_EVENING = { cf: CF.DE, ua: UA.iphone, headers: { "x-borderless-now": "2026-12-22T18:30:00Z" } }; // Berlin 19:30, Tuesday
const JP_MORNING = { cf: CF.JP, ua: UA.chrome, headers: { "x-borderless-now": "2026-12-22T00:30:00Z" } }; // Tokyo 09:30
const AU_DECEMBER = { cf: CF.AU, ua: UA.chrome, headers: { "x-borderless-now": "2026-12-22T00:30:00Z" } }; // Sydney 11:30, summer
const CONSENT = "borderless_consent=yes";

function withCookies(opts, cookie, extra = {}) {
  return { ...opts, headers: { ...opts.headers, ...(cookie ? { cookie } : {}), ...extra } };
}

describe("personalization on the demo shop", () => {
  let demo;
  let worker;
  let bundle;
  let packs;
  let products; // ids on the demo home page

  before(async () => {
    bundle = demoBundle();
    const prefix = `b/${bundle.config.bundle}/country/`;
    packs = Object.fromEntries(bundle.entries.filter((e) => e.key.startsWith(prefix)).map((e) => [e.key.slice(prefix.length), JSON.parse(e.value)]));
    assert.ok(bundle.config.personalization, "the demo bundle carries personalization: run `make demo-bundle`");
    demo = await startDemoOrigin();
    worker = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH });
    const home = await worker.request("/", JP_MORNING);
    products = [...new Set([...home.body.toString().matchAll(/data-product-id="([^"]+)"/g)].map((m) => m[1]))];
  });
  after(async () => {
    await worker?.close();
    await demo?.close();
  });

  test("DE evening mobile, JP morning desktop and AU summer in December get different blocks", async () => {
    const vid = visitorId();
    const seen = {};
    for (const [name, opts, cookie] of [
      ["DE", DE_EVENING, `${CONSENT}; borderless_vid=${vid}`],
      ["JP", JP_MORNING, `borderless_vid=${vid}`],
      ["AU", AU_DECEMBER, `borderless_vid=${vid}`],
    ]) {
      const res = await worker.request("/", withCookies(opts, cookie));
      assert.equal(res.status, 200);
      const html = res.body.toString();
      const report = contextOf(res);
      const blocks = blocksOf(html);
      assert.equal(report.decisions.experiment_arm, "recs-source:segment", name);
      assert.deepEqual(report.decisions.blocks.find((b) => b.slot === "recommendations").products, blocks.segment, name);
      assert.equal(blocks.segment.length, 4, name);
      assert.ok(blocks.promo, name);
      seen[name] = { blocks, report, html };
      // Every picked product is in the segment list the report names.
      const list = packs[name].segments[report.decisions.segment_used];
      assert.ok(blocks.segment.every((id) => list.includes(id)), `${name}: ${report.decisions.segment_used}`);
      // One exposure line per personalized response.
      const exposures = () => worker.jsonLogs().filter((l) => l.event === "exposure" && l.visitor === vid && l.segment === report.decisions.segment);
      const lines = await eventually(() => exposures().length && exposures());
      assert.ok(lines, `${name}: exposure line`);
      assert.deepEqual(lines.at(-1).blocks.find((b) => b.block === "segment").products, blocks.segment);
    }
    const { DE, JP, AU } = seen;
    assert.equal(DE.report.decisions.segment, "DE:mobile:evening:weekday:winter");
    assert.equal(DE.report.decisions.reasons[0], "country DE, mobile, evening, weekday, winter");
    assert.ok(DE.report.decisions.reasons.includes(`fell back from DE:mobile:evening:weekday:winter to ${DE.report.decisions.segment_used}`));
    assert.match(DE.report.decisions.segment_used, /^DE:\*:/);
    assert.equal(JP.report.decisions.segment, "JP:desktop:morning:weekday:winter");
    assert.equal(JP.report.decisions.segment_used, "JP:*:*:*:*");
    assert.equal(AU.report.decisions.segment, "AU:desktop:morning:weekday:summer");
    assert.equal(AU.report.decisions.segment_used, "AU:*:*:*:summer");
    assert.notDeepEqual(DE.blocks.segment, JP.blocks.segment);
    assert.notDeepEqual(DE.blocks.segment, AU.blocks.segment);
    assert.notDeepEqual(JP.blocks.segment, AU.blocks.segment);
    // Promos by season and daypart: no winter banners in Sydney in December.
    assert.equal(DE.blocks.promo, "winter-evenings");
    assert.equal(JP.blocks.promo, "winter-warmers");
    assert.equal(AU.blocks.promo, "summer-picnic");
    assert.doesNotMatch(AU.html, /[Ww]inter/);
    // Headings and titles in the visitor's language, prices in their currency.
    assert.match(DE.html, /<h2 class="borderless-heading">Beliebt in Ihrem Land<\/h2>/);
    assert.match(DE.html, /<span class="borderless-price">[0-9,]+\s€<\/span>/);
    assert.match(JP.html, /<span class="borderless-price">￥[0-9,]+<\/span>/);
    assert.match(AU.html, /<span class="borderless-price">A\$[0-9.]+<\/span>/);
  });

  test("continue shopping after viewing three products, newest first", async () => {
    const vid = visitorId();
    let jar = `borderless_vid=${vid}`;
    const viewed = products.filter((id) => packs.JP.cards[id]).slice(0, 3);
    assert.equal(viewed.length, 3);
    for (const id of viewed) {
      const res = await worker.request(`/p/${id}`, withCookies(JP_MORNING, jar));
      assert.equal(res.status, 200);
      const profile = borderlessCookies(res).find((c) => c.startsWith("borderless_profile="));
      assert.ok(profile, `a profile cookie after viewing ${id}`);
      assert.match(profile, /; Path=\/; Max-Age=31536000; SameSite=Lax; HttpOnly$/);
      jar = `borderless_vid=${vid}; ${cookiePair(profile)}`;
    }
    const res = await worker.request("/", withCookies(JP_MORNING, jar));
    const report = contextOf(res);
    assert.equal(report.decisions.profile, "read");
    assert.deepEqual(blocksOf(res.body.toString())["recently-viewed"], [...viewed].reverse());
    assert.match(report.decisions.segment, /^JP:desktop:morning:weekday:winter\+[a-z-]+$/, "the top category joins the segment");
    // Category pages show it too; a new visitor gets no such block.
    const cat = await worker.request("/c/kitchen", withCookies(JP_MORNING, jar));
    assert.deepEqual(blocksOf(cat.body.toString())["recently-viewed"], [...viewed].reverse());
    const fresh = await worker.request("/", withCookies(JP_MORNING, `borderless_vid=${vid}`));
    assert.equal(blocksOf(fresh.body.toString())["recently-viewed"], undefined);
  });

  test("also bought on a product page", async () => {
    const id = products.find((p) => packs.DE.also_bought[p]?.filter((x) => x !== p && packs.DE.cards[x]).length >= 4);
    assert.ok(id);
    const res = await worker.request(`/p/${id}`, withCookies(DE_EVENING, `${CONSENT}; borderless_vid=${visitorId()}`));
    const blocks = blocksOf(res.body.toString());
    const want = packs.DE.also_bought[id].filter((x) => x !== id && packs.DE.cards[x]).slice(0, 4);
    assert.deepEqual(blocks["also-bought"], want);
    assert.match(res.body.toString(), /<section data-borderless-slot="also-bought"><div class="borderless-block borderless-also-bought" role="region" aria-label="Kunden kauften auch"/);
    assert.ok(contextOf(res).decisions.reasons.includes(`also bought with ${id}`));
  });

  test("no cookies with GPC, or in the EU without consent", async () => {
    const id = products[0];
    const gpc = await worker.request(`/p/${id}`, withCookies(JP_MORNING, "", { "sec-gpc": "1" }));
    assert.equal(gpc.status, 200);
    assert.deepEqual(borderlessCookies(gpc), []);
    assert.equal(contextOf(gpc).decisions.cookies, "gpc");
    assert.equal(contextOf(gpc).decisions.experiment_arm, "control");
    const eu = await worker.request(`/p/${id}`, DE_EVENING);
    assert.deepEqual(borderlessCookies(eu), []);
    assert.equal(contextOf(eu).decisions.cookies, "no_consent");
    assert.doesNotMatch(eu.body.toString(), /data-borderless-block=/);
    // The shop's own cookie still passes through.
    assert.ok(setCookies(eu).some((c) => c.startsWith("shop_session=")));
    // With consent: a visitor id and a profile.
    const ok = await worker.request(`/p/${id}`, withCookies(DE_EVENING, CONSENT));
    const names = borderlessCookies(ok).map((c) => c.split("=")[0]).sort();
    assert.deepEqual(names, ["borderless_profile", "borderless_vid"]);
    assert.match(cookiePair(borderlessCookies(ok).find((c) => c.startsWith("borderless_vid="))), /^borderless_vid=[0-9a-f]{32}$/);
    // GPC wins over consent; crawlers get nothing either.
    const both = await worker.request(`/p/${id}`, withCookies(DE_EVENING, CONSENT, { "sec-gpc": "1" }));
    assert.deepEqual(borderlessCookies(both), []);
    const bot = await worker.request(`/p/${id}`, { ...JP_MORNING, ua: UA.googlebot });
    assert.deepEqual(borderlessCookies(bot), []);
    assert.doesNotMatch(bot.body.toString(), /data-borderless-block=/);
  });

  test("holdout visitors get the origin's page, localized", async () => {
    const vid = visitorId({ holdout: true });
    const res = await worker.request("/", withCookies(JP_MORNING, `borderless_vid=${vid}`));
    const html = res.body.toString();
    assert.equal(contextOf(res).decisions.experiment_arm, "holdout");
    assert.doesNotMatch(html, /data-borderless-block=|data-borderless-products=/);
    assert.match(html, /<section data-borderless-slot="recommendations"><\/section>/);
    assert.match(html, /data-bl-country="JP"/);
    assert.match(html, /data-price="[0-9.]+" data-currency="GBP">￥[0-9,]+</, "prices still converted");
    await sleep(200);
    assert.equal(worker.jsonLogs().filter((l) => l.event === "exposure" && l.visitor === vid).length, 0);
    // The trending arm swaps the recommendations block.
    const t = await worker.request("/", withCookies(JP_MORNING, `borderless_vid=${visitorId({ arm: "trending" })}`));
    const tb = blocksOf(t.body.toString());
    assert.equal(contextOf(t).decisions.experiment_arm, "recs-source:trending");
    assert.deepEqual(tb.trending, packs.JP.trending.filter((id) => packs.JP.cards[id]).slice(0, 4));
    assert.match(t.body.toString(), /data-borderless-block="trending" data-borderless-arm="recs-source:trending"/);
  });

  test("explain matches what rendered", async () => {
    const vid = visitorId();
    const id = products.find((p) => packs.DE.also_bought[p]);
    for (const path of ["/", `/p/${id}`, "/c/candles"]) {
      const opts = withCookies(DE_EVENING, `${CONSENT}; borderless_vid=${vid}`);
      const page = await worker.request(path, opts);
      const ex = await worker.request(`/__borderless/explain?url=${encodeURIComponent(path)}`, opts);
      assert.equal(ex.status, 200);
      assert.match(ex.headers["content-type"], /^application\/json/);
      assert.deepEqual(borderlessCookies(ex), [], "explain sets no cookies");
      const body = JSON.parse(ex.body.toString());
      const rendered = blocksOf(page.body.toString());
      const explained = Object.fromEntries(body.blocks.filter((b) => page.body.toString().includes(`data-borderless-slot="${b.slot}"`)).map((b) => [b.block, b.promo ?? b.products]));
      assert.deepEqual(explained, rendered, path);
      for (const b of body.blocks) if (rendered[b.block]) assert.ok(page.body.toString().includes(b.html), `${path}: ${b.slot} html`);
      assert.equal(body.context.path, path);
      assert.equal(body.decisions.segment, contextOf(page).decisions.segment);
      assert.ok(body.decisions.reasons.length >= 2);
    }
    // Preview only: without it the path goes to the origin (404 there).
    const off = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH, preview: "off" });
    try {
      const res = await off.request("/__borderless/explain?url=/", DE_EVENING);
      assert.equal(res.status, 404);
      assert.doesNotMatch(res.headers["content-type"], /json/);
    } finally {
      await off.close();
    }
    const bad = await worker.request("/__borderless/explain?url=https://evil.test/", DE_EVENING);
    assert.equal(bad.status, 400);
  });

  test("KV reads per request by page type, cold and warm", async (t) => {
    const fresh = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH });
    const vid = visitorId();
    const pages = { home: "/", category: "/c/kitchen", product: `/p/${products[0]}` };
    const rows = [];
    try {
      for (const round of ["cold", "warm"]) {
        for (const [kind, path] of Object.entries(pages)) {
          for (const [who, opts] of [["DE", withCookies(DE_EVENING, `${CONSENT}; borderless_vid=${vid}`)], ["NZ (global pack)", { ...JP_MORNING, cf: { ...CF.AU, country: "NZ", timezone: "Pacific/Auckland" }, headers: { ...JP_MORNING.headers, cookie: `borderless_vid=${vid}` } }]]) {
            const res = await fresh.request(path, opts);
            const kv = contextOf(res).decisions.kv;
            rows.push({ round, kind, who, kv: kv.filter((r) => r.source === "kv").map((r) => r.key.replace(/^b\/[^/]+\//, "")), isolate: kv.filter((r) => r.source === "isolate").length });
          }
        }
      }
    } finally {
      await fresh.close();
    }
    for (const r of rows) t.diagnostic(`${r.round} ${r.kind} ${r.who}: ${r.kv.length} KV reads [${r.kv.join(", ")}], ${r.isolate} from the isolate`);
    const reads = (round, kind, who) => rows.find((r) => r.round === round && r.kind === kind && r.who === who).kv;
    // Cold: the first request reads config, dictionary, FX (live key, bundle),
    // the locale's translation memory (one value: the demo's is not sharded)
    // and the country pack (one value).
    assert.deepEqual(reads("cold", "home", "DE"), ["config", "dict/de-DE", "fx/live", "fx/rates", "tm/de-DE", "country/DE"]);
    // Then each further country costs its pack once (absent countries: the miss, then ZZ).
    assert.deepEqual(reads("cold", "home", "NZ (global pack)").filter((k) => k.startsWith("country/")), ["country/NZ", "country/ZZ"]);
    // Warm: nothing but the isolate.
    for (const kind of Object.keys(pages)) for (const who of ["DE", "NZ (global pack)"]) assert.deepEqual(reads("warm", kind, who), [], `${kind} ${who}`);
    for (const kind of ["category", "product"]) assert.deepEqual(reads("cold", kind, "DE"), [], kind);
  });
});

// ---------- XSS corpus ----------

const XSS_PAGE = `<!doctype html><html lang="en-GB"><head><title>Shop</title></head><body>
<div data-borderless-slot="promo"></div>
<section data-borderless-slot="recommendations"></section>
<section data-borderless-slot="also-bought"></section>
<section data-borderless-slot="recently-viewed"></section>
<section data-borderless-slot="trending"></section>
<p data-i18n="blocks.trending">Trending</p>
<span data-price="2.55" data-currency="GBP">£2.55</span>
</body></html>`;

describe("XSS corpus", () => {
  let origin;
  let worker;
  const card = (id, x, i) => ({
    id,
    title: { "en-GB": x, "de-DE": x, de: x },
    category: x,
    price: i % 3 ? "2.55" : x,
    currency: i % 4 ? "GBP" : x,
    image: i % 2 ? x : `/img/${encodeURIComponent(x)}`,
    url: i % 2 ? `/p/p${i}` : x,
  });

  before(async () => {
    origin = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(XSS_PAGE);
    });
    await new Promise((r) => origin.listen(0, "127.0.0.1", r));
    const x0 = XSS.join(" ");
    const config = {
      version: 1,
      bundle: "xss-1",
      site: { default_locale: "en-GB", currency: "GBP" },
      localization: { locales: ["en-GB", "de-DE"], currencies: ["GBP", "EUR"], fx_max_age_hours: 87600 },
      personalization: {
        slots: {
          promo: { block: "promo" },
          recommendations: { block: "segment", heading: XSS[0] },
          "also-bought": { block: "also-bought" },
          "recently-viewed": { block: "recently-viewed" },
          trending: { block: "trending" },
        },
        product_path: "/p/{id}",
        promos: [{ id: "p1", text: `${x0.slice(0, 400)} {holiday}`, link: "/c/x", when: {} }],
        holidays: { DE: { "12-22": XSS[8] } },
      },
    };
    const ids = XSS.map((_, i) => `p${i}`);
    const cards = Object.fromEntries(XSS.map((x, i) => [ids[i], card(ids[i], x, i)]));
    const pack = {
      country: "DE",
      segments: { "DE:*:*:*:*": [...XSS, ...ids], "*:*:*:*:*": ids },
      trending: [...XSS, ...ids],
      also_bought: Object.fromEntries(ids.map((id) => [id, [...XSS, ...ids]])),
      cards: { ...cards, ...Object.fromEntries(XSS.map((x, i) => [x, card(x, x, i)])) },
    };
    const dict = Object.fromEntries(["blocks.popular_here", "blocks.trending", "blocks.recently_viewed", "blocks.also_bought"].map((k, i) => [k, XSS[i + 3]]));
    const entries = buildBundle(config, {
      dicts: { "de-DE": dict },
      fx: { base: "GBP", as_of: "2026-12-01T00:00:00Z", rates: { EUR: 1.15 } },
      extra: [{ key: "b/xss-1/country/DE", value: JSON.stringify(pack) }],
    });
    worker = await startWorker({ origin: `http://127.0.0.1:${origin.address().port}`, bundle: entries });
  });
  after(async () => {
    await worker?.close();
    await new Promise((r) => origin?.close(r) ?? r());
  });

  test("payloads in KV titles, dictionaries, config, cookies, headers and URLs never execute", async () => {
    assert.deepEqual(executable(XSS_PAGE), []);
    // The checker itself finds what it must.
    assert.equal(executable('<a href=" JaVa&#x53;cript:x">').length, 1);
    assert.equal(executable("<img src=x onerror=alert(1)>").length, 1);
    let rendered = 0;
    for (const [i, x] of XSS.entries()) {
      const enc = encodeURIComponent(x);
      const profile = `v1~499000~p1.p2.p${i}~${encodeURIComponent(x)}:100`;
      const headers = {
        "x-borderless-now": "2026-12-22T18:30:00Z",
        cookie: `borderless_consent=yes; borderless_vid=${enc}; borderless_profile=${profile}; borderless_locale=${enc}; borderless_currency=${enc}`,
        "accept-language": `de-DE,${x.replace(/[^\x20-\x7e]/g, "")};q=0.9`,
        "x-borderless-region": x.replace(/[^\x20-\x7e]/g, "").replace(/[\t]/g, " "),
        referer: x.replace(/[^\x20-\x7e]/g, ""),
      };
      for (const path of [`/p/${enc}`, `/p/p${i}`, `/?q=${enc}`, `/${enc}`]) {
        const res = await worker.request(path, { cf: CF.DE, headers });
        assert.equal(res.status, 200, path);
        const html = res.body.toString();
        if (html.includes("borderless-block")) rendered++;
        assert.deepEqual(executable(html), [], `payload ${i} ${JSON.stringify(x)} at ${path}:\n${html}`);
        for (const c of borderlessCookies(res)) assert.ok(!c.includes(x) && !/[<>"]/.test(c), `cookie ${c}`);
        const report = res.headers["x-borderless-context"];
        assert.ok(!report || /^[\x20-\x7e]*$/.test(report));
      }
      const ex = await worker.request(`/__borderless/explain?url=${encodeURIComponent(`/p/p${i}`)}`, { cf: CF.DE, headers });
      for (const b of JSON.parse(ex.body.toString()).blocks) assert.deepEqual(executable(b.html), [], `explain ${i}`);
    }
    assert.ok(rendered >= XSS.length * 3, `blocks rendered on ${rendered} pages`);
  });
});
