// Known customers and the privacy page end to end in workerd: the demo shop
// behind the worker with the demo's real KV bundle, the two secrets as the
// worker's bindings, and a customer value put under its HMAC key (computed
// here independently of the Rust code, as the shop's backend would sign).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHmac } from "node:crypto";
import { startWorker, startDemoOrigin, contextOf, demoBundle, buildBundle, CF, UA, DEMO_BUNDLE_PATH } from "./harness.mjs";
import { visitorId, blocksOf, executable, XSS } from "./personal.mjs";

const COOKIE_SECRET = "e2e cookie secret: 32 bytes long";
const CUSTOMER_KEY = "e2e customer key: 32 bytes long!";
const SECRETS = { BORDERLESS_COOKIE_SECRET: COOKIE_SECRET, BORDERLESS_CUSTOMER_KEY: CUSTOMER_KEY };

/** The shop's cookie: `<id>.<expiry>.<hex HMAC-SHA256(secret, "<id>.<expiry>")>`. */
function sign(id, expiresS, secret = COOKIE_SECRET) {
  const payload = `${id}.${expiresS}`;
  return `${payload}.${createHmac("sha256", secret).update(payload).digest("hex")}`;
}
const custKey = (id) => `cust/${createHmac("sha256", CUSTOMER_KEY).update(id).digest("hex")}`;
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

const JP = { cf: CF.JP, ua: UA.chrome };
const CONSENT = "borderless_consent=yes";
const setCookies = (res) => [res.headers["set-cookie"] || []].flat();
const borderlessCookies = (res) => setCookies(res).filter((c) => c.startsWith("borderless_"));
const withCookie = (opts, cookie, headers = {}) => ({ ...opts, headers: { ...opts.headers, cookie, ...headers } });
/** Keys the request read from KV itself (not the isolate's cache). */
const kvReads = (res) => contextOf(res).decisions.kv.filter((r) => r.source === "kv").map((r) => r.key);
const customerReads = (res) => contextOf(res).decisions.kv.filter((r) => r.key.startsWith("cust/"));

describe("known customers on the demo shop", () => {
  let demo;
  let worker;
  let value;
  const vid = visitorId();

  before(async () => {
    const bundle = demoBundle();
    const slots = bundle.config.personalization?.slots || {};
    assert.equal(slots["buy-again"]?.block, "buy-again", "demo/config.json has a buy-again slot: run `make demo-bundle`");
    assert.equal(slots["for-you"]?.block, "for-you");
    const pack = JSON.parse(bundle.entries.find((e) => e.key === `b/${bundle.config.bundle}/country/JP`).value);
    demo = await startDemoOrigin();
    worker = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH, bindings: SECRETS });
    // Warm the isolate (config, dictionaries, FX, packs) so each test sees only its own reads.
    let home;
    for (const [opts, cookie] of [
      [JP, `borderless_vid=${vid}`],
      [{ cf: CF.DE, ua: UA.chrome }, `${CONSENT}; borderless_vid=${vid}`],
      [{ cf: CF.JP, ua: UA.googlebot }, ""],
    ]) {
      home ??= await worker.request("/", withCookie(opts, cookie));
      assert.equal((await worker.request("/", withCookie(opts, cookie))).status, 200);
    }
    // Products of the demo shop (their pages exist), as the CLI would pick them.
    const shown = [...new Set([...home.body.toString().matchAll(/data-product-id="([^"]+)"/g)].map((m) => m[1]))];
    const ids = shown.filter((id) => pack.cards[id]).slice(0, 7);
    assert.equal(ids.length, 7);
    value = { country: "JP", buy_again: ids.slice(0, 3), for_you: ids.slice(3, 7), cards: Object.fromEntries(ids.map((id) => [id, pack.cards[id]])) };
    await worker.kv.put(custKey("c42"), JSON.stringify(value));
  });
  after(async () => {
    await worker?.close();
    await demo?.close();
  });

  test("a signed customer cookie gives the customer's blocks for exactly one KV read", async () => {
    const cookie = `borderless_vid=${vid}; borderless_customer=${sign("c42", inAnHour())}`;
    const res = await worker.request("/", withCookie(JP, cookie));
    assert.equal(res.status, 200);
    const html = res.body.toString();
    const blocks = blocksOf(html);
    assert.deepEqual(blocks["buy-again"], value.buy_again);
    assert.deepEqual(blocks["for-you"], value.for_you);
    assert.match(html, /<section data-borderless-slot="buy-again"><div class="borderless-block borderless-buy-again"/);
    assert.match(html, /<span class="borderless-price">￥[0-9,]+<\/span>/, "prices in the visitor's currency");
    assert.deepEqual(kvReads(res), [custKey("c42")], "one read: the customer's value");
    assert.ok(contextOf(res).decisions.reasons.includes("customer: value read"));
    // Within the minute the isolate keeps it: no read at all.
    const again = await worker.request("/", withCookie(JP, cookie));
    assert.deepEqual(kvReads(again), []);
    assert.deepEqual(blocksOf(again.body.toString())["buy-again"], value.buy_again);
    // Localized headings from the demo's dictionaries.
    const de = await worker.request("/", withCookie({ cf: CF.DE, ua: UA.chrome }, `${CONSENT}; ${cookie}`));
    assert.match(de.body.toString(), /<h2 class="borderless-heading">Erneut kaufen<\/h2>/);
    assert.match(de.body.toString(), /<h2 class="borderless-heading">Für Sie ausgewählt<\/h2>/);
  });

  test("forged, expired or unsigned cookies, GPC, no EU consent, opt-out and crawlers: no blocks, no read", async () => {
    const good = sign("c42", inAnHour());
    const [id, exp, sig] = good.split(".");
    const cases = [
      ["forged (other secret)", JP, `borderless_customer=${sign("c42", inAnHour(), "another secret, also 32 bytes!!")}`, {}, "identity cookie not verified"],
      ["forged (other id)", JP, `borderless_customer=c43.${exp}.${sig}`, {}, "identity cookie not verified"],
      ["forged (later expiry)", JP, `borderless_customer=${id}.${Number(exp) + 1}.${sig}`, {}, "identity cookie not verified"],
      ["expired", JP, `borderless_customer=${sign("c42", Math.floor(Date.now() / 1000) - 60)}`, {}, "identity cookie not verified"],
      ["unsigned", JP, "borderless_customer=c42", {}, "identity cookie not verified"],
      ["GPC", JP, `borderless_customer=${good}`, { "sec-gpc": "1" }, "no consent (GPC, opt-out, consent cookie, crawler)"],
      ["EU without consent", { cf: CF.DE, ua: UA.chrome }, `borderless_customer=${good}`, {}, "no consent (GPC, opt-out, consent cookie, crawler)"],
      ["opted out", JP, `borderless_customer=${good}; borderless_optout=1`, {}, "no consent (GPC, opt-out, consent cookie, crawler)"],
      ["crawler", { cf: CF.JP, ua: UA.googlebot }, `borderless_customer=${good}`, {}, null],
    ];
    for (const [name, opts, cookie, headers, why] of cases) {
      const res = await worker.request("/", withCookie(opts, `borderless_vid=${vid}; ${cookie}`, headers));
      assert.equal(res.status, 200, name);
      const blocks = blocksOf(res.body.toString());
      assert.equal(blocks["buy-again"], undefined, name);
      assert.equal(blocks["for-you"], undefined, name);
      assert.deepEqual(customerReads(res), [], name);
      assert.deepEqual(kvReads(res), [], `${name}: no KV read at all (the isolate is warm)`);
      if (why) assert.ok(contextOf(res).decisions.reasons.includes(`customer: ${why}`), `${name}: ${contextOf(res).decisions.reasons}`);
    }
  });

  test("the privacy page shows what is held, clears it and opts out", async () => {
    // A profile from viewing two products.
    let jar = `borderless_vid=${vid}; borderless_customer=${sign("c42", inAnHour())}`;
    for (const id of value.buy_again.slice(0, 2)) {
      const res = await worker.request(`/p/${id}`, withCookie(JP, jar));
      const profile = borderlessCookies(res).find((c) => c.startsWith("borderless_profile="));
      assert.ok(profile, `a profile cookie after ${id}`);
      jar = `borderless_vid=${vid}; borderless_customer=${sign("c42", inAnHour())}; ${profile.split(";")[0]}`;
    }
    const page = await worker.request("/__borderless/privacy", withCookie(JP, jar));
    assert.equal(page.status, 200);
    assert.equal(page.headers["cache-control"], "no-store");
    assert.match(page.headers["content-type"], /^text\/html; charset=utf-8/);
    assert.deepEqual(setCookies(page), [], "the page itself sets nothing");
    const html = page.body.toString();
    for (const id of value.buy_again.slice(0, 2)) assert.ok(html.includes(`<li>${id}</li>`), `${id} listed`);
    assert.ok(html.includes(`<code>${vid}</code>`));
    assert.match(html, /<dt>Experiment group<\/dt><dd>recs-source:(segment|trending)<\/dd>/);
    assert.match(html, /<dt>Suggestions from your purchase history<\/dt><dd>On<\/dd>/);
    assert.deepEqual(executable(html), []);
    // In the visitor's language (the demo's German words).
    const de = await worker.request("/__borderless/privacy", withCookie({ cf: CF.DE, ua: UA.chrome }, `${CONSENT}; ${jar}`));
    assert.match(de.body.toString(), /<h1>Ihre Privatsphäre in diesem Shop<\/h1>/);

    // Another site cannot clear or opt out for the visitor.
    const base = new URL(worker.base).origin;
    const evil = await worker.request("/__borderless/privacy?do=optout", withCookie({ ...JP, method: "POST" }, jar, { origin: "https://evil.test" }));
    assert.equal(evil.status, 403);
    assert.deepEqual(setCookies(evil), []);
    // The shop's own form: cleared, opted out, back to the page; never the origin's.
    const out = await worker.request("/__borderless/privacy?do=optout", withCookie({ ...JP, method: "POST" }, jar, { origin: base }));
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, "/__borderless/privacy?done=optout");
    assert.equal(out.headers["cache-control"], "no-store");
    const set = borderlessCookies(out);
    for (const name of ["borderless_vid", "borderless_profile", "borderless_orders"]) {
      assert.ok(set.some((c) => c.startsWith(`${name}=;`) && /Max-Age=0/.test(c)), `${name} expired: ${set}`);
    }
    assert.ok(set.some((c) => c.startsWith("borderless_optout=1;")));
    assert.ok(!set.some((c) => /^borderless_(locale|currency|customer)=/.test(c)), "language, currency and the shop's sign-in stay");
    // The browser now holds only the opt-out and the shop's sign-in.
    const after = `borderless_optout=1; borderless_customer=${sign("c42", inAnHour())}`;
    const shown = (await worker.request("/__borderless/privacy?done=optout", withCookie(JP, after))).body.toString();
    assert.match(shown, /role="status"/);
    assert.match(shown, /<dt>Products you viewed recently<\/dt><dd>Nothing<\/dd>/);
    assert.match(shown, /<dt>Personalization<\/dt><dd>Off: you opted out<\/dd>/);
    assert.match(shown, /\?do=optin/);
    const home = await worker.request("/", withCookie(JP, after));
    assert.equal(contextOf(home).decisions.cookies, "opt_out");
    assert.deepEqual(borderlessCookies(home), [], "no new visitor id after opting out");
    assert.deepEqual(customerReads(home), []);
    assert.doesNotMatch(home.body.toString(), /data-borderless-block=/);
  });
});

// ---------- XSS corpus: customer blocks and the privacy page ----------

const PAGE = `<!doctype html><html lang="en-GB"><head><title>Shop</title></head><body>
<section data-borderless-slot="again"></section>
<section data-borderless-slot="picks"></section>
</body></html>`;

describe("XSS corpus in customer values", () => {
  let origin;
  let worker;

  before(async () => {
    origin = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(PAGE);
    });
    await new Promise((r) => origin.listen(0, "127.0.0.1", r));
    const config = {
      version: 1,
      bundle: "xss-cust-1",
      site: { default_locale: "en-GB", currency: "GBP" },
      localization: { locales: ["en-GB", "de-DE"], currencies: ["GBP", "EUR"], fx_max_age_hours: 87600 },
      personalization: {
        slots: { again: { block: "buy-again" }, picks: { block: "for-you", heading: XSS[1] } },
        cards: 12,
        product_path: "/p/{id}",
      },
    };
    const card = (id, x, i) => ({
      id,
      title: { "en-GB": x, "de-DE": x },
      category: x,
      price: i % 3 ? "2.55" : x,
      currency: i % 4 ? "GBP" : x,
      image: i % 2 ? x : `/img/${encodeURIComponent(x)}`,
      url: i % 2 ? `/p/p${i}` : x,
    });
    const ids = XSS.map((_, i) => `p${i}`);
    const cards = { ...Object.fromEntries(XSS.map((x, i) => [ids[i], card(ids[i], x, i)])), ...Object.fromEntries(XSS.map((x, i) => [x, card(x, x, i)])) };
    const value = { country: "DE", buy_again: [...XSS.slice(0, 6), ...ids], for_you: [...ids].reverse().concat(XSS), cards };
    const dict = { "blocks.buy_again": XSS[3], "blocks.for_you": XSS[4], "privacy.title": XSS[17], "privacy.clear": XSS[5] };
    const entries = buildBundle(config, {
      dicts: { "de-DE": dict },
      fx: { base: "GBP", as_of: "2026-12-01T00:00:00Z", rates: { EUR: 1.15 } },
      extra: [
        // Blocks render once the visitor's pack (here the global one) is read.
        { key: "b/xss-cust-1/country/ZZ", value: JSON.stringify({ country: "ZZ", segments: {}, trending: [], also_bought: {}, cards: {} }) },
        { key: custKey("c42"), value: JSON.stringify(value) },
      ],
    });
    worker = await startWorker({ origin: `http://127.0.0.1:${origin.address().port}`, bundle: entries, bindings: SECRETS });
  });
  after(async () => {
    await worker?.close();
    await new Promise((r) => origin?.close(r) ?? r());
  });

  test("hostile titles, urls, prices and headings in a customer value never execute", async () => {
    const cookie = `borderless_consent=yes; borderless_vid=${visitorId()}; borderless_customer=${sign("c42", inAnHour())}`;
    let cards = 0;
    for (const locale of ["en-GB", "de-DE"]) {
      const res = await worker.request("/", { cf: CF.DE, headers: { cookie: `${cookie}; borderless_locale=${locale}` } });
      assert.equal(res.status, 200);
      const html = res.body.toString();
      const blocks = blocksOf(html);
      assert.ok(blocks["buy-again"]?.length && blocks["for-you"]?.length, `${locale}: both blocks render their valid cards:\n${html}\n${res.headers["x-borderless-context"]}\n${worker.logs.join("\n")}`);
      cards += blocks["buy-again"].length + blocks["for-you"].length;
      assert.deepEqual(executable(html), [], `${locale}:\n${html}`);
      assert.ok(blocks["buy-again"].every((id) => /^p\d+$/.test(id)), "only valid ids");
    }
    assert.ok(cards >= 8, `${cards} cards`);
  });

  test("hostile cookies and dictionary words on the privacy page never execute", async () => {
    for (const [i, x] of XSS.entries()) {
      const enc = encodeURIComponent(x);
      const headers = {
        cookie: `borderless_vid=${enc}; borderless_profile=v1~1~p1.${enc}~${enc}:100; borderless_customer=${enc}; borderless_locale=de-DE; borderless_optout=${enc}`,
      };
      for (const path of ["/__borderless/privacy", `/__borderless/privacy?done=${enc}`]) {
        const res = await worker.request(path, { cf: CF.DE, headers });
        assert.equal(res.status, 200, path);
        assert.deepEqual(executable(res.body.toString()), [], `payload ${i} at ${path}:\n${res.body}`);
      }
    }
  });
});
