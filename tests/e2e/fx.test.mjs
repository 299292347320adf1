// The FX refresh in workerd: Miniflare dispatches the Cron Trigger to the
// built worker, whose scheduled handler fetches a feed from a local server
// (good, malformed, partial, stale, unreachable) and writes the live FX key
// only when the feed passes; a bad feed leaves the old rates and logs one
// error line. Pages convert with the freshest rates and fall back when they
// are stale; the conversion beacon refuses bad input with 400 and no line.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startWorker, buildBundle, contextOf, intlPrice, CF } from "./harness.mjs";
import { startOrigin } from "./origin.mjs";

const LIVE = "fx/live";
const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

const ecb = (date, rates) => `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
	<Cube>
		<Cube time='${date}'>
${Object.entries(rates).map(([c, r]) => `			<Cube currency='${c}' rate='${r}'/>`).join("\n")}
		</Cube>
	</Cube>
</gesmes:Envelope>
`;

const RATES = { USD: "1.0523", JPY: "163.92", GBP: "0.8321", CHF: "0.9312" };

export const FX_CONFIG = {
  version: 1,
  bundle: "fx-1",
  site: { default_locale: "en-GB", currency: "GBP" },
  localization: { locales: ["en-GB", "de-DE"], currencies: ["GBP", "EUR", "USD", "CHF"], fx_max_age_hours: 48 },
};
// The bundle's own rates: a week old, GBP-based.
const BUNDLE_FX = {
  base: "GBP",
  as_of: new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 19) + "Z",
  rates: { EUR: 1.2018, USD: 1.2647, CHF: 1.119 },
};
const BUNDLE = [
  { key: "b/fx-1/fx/rates", value: JSON.stringify(BUNDLE_FX) },
  { key: "config", value: JSON.stringify(FX_CONFIG) },
];

/** A feed server whose answer the test sets. */
async function feedServer() {
  let answer = { status: 200, type: "application/xml", body: "" };
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    res.writeHead(answer.status, { "content-type": answer.type });
    res.end(answer.body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}/eurofxref-daily.xml`,
    set: (a) => (answer = { status: 200, type: "application/xml", ...a }),
    hits: () => hits,
    close: () => new Promise((r) => server.close(r)),
  };
}

async function cron(w) {
  const worker = await w.mf.getWorker();
  const before = w.logs.length;
  const r = await worker.scheduled({ cron: "17 * * * *", scheduledTime: new Date() });
  // Lines may trail the handler's end.
  for (let i = 0; i < 50 && !w.logs.slice(before).some((l) => l.includes('"event":"fx_')); i++) {
    await new Promise((res) => setTimeout(res, 20));
  }
  const lines = w.logs.slice(before).flatMap((l) => {
    const at = l.indexOf("{");
    try {
      return at < 0 ? [] : [JSON.parse(l.slice(at))];
    } catch {
      return [];
    }
  });
  return { outcome: r.outcome, lines: lines.filter((l) => String(l.event).startsWith("fx_")) };
}

const live = async (w) => JSON.parse((await w.kv.get(LIVE)) ?? "null");

describe("scheduled FX refresh", () => {
  let feed, w;
  before(async () => {
    feed = await feedServer();
    w = await startWorker({ bundle: BUNDLE, bindings: { FX_SOURCE: feed.url, FX_MAX_AGE_HOURS: "96", FX_MAX_JUMP: "0.1" } });
  });
  after(async () => {
    await w?.close();
    await feed?.close();
  });

  test("a good ECB file becomes the live rates", async () => {
    feed.set({ body: ecb(today(), RATES) });
    const { outcome, lines } = await cron(w);
    assert.equal(outcome, "ok");
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].event, "fx_refreshed");
    assert.equal(lines[0].published, today());
    const v = await live(w);
    assert.equal(v.base, "EUR");
    // Only the shop's currencies, as the feed gave them.
    assert.deepEqual(v.rates, { CHF: 0.9312, GBP: 0.8321, USD: 1.0523 });
    assert.ok(Math.abs(Date.parse(v.as_of) - Date.now()) < 120_000, v.as_of);
  });

  for (const [name, answer, event] of [
    ["malformed", () => ({ body: "<html><body>Maintenance</body></html>", type: "text/html" }), "fx_feed_malformed"],
    ["truncated", () => ({ body: ecb(today(), RATES).slice(0, 300) }), "fx_feed_malformed"],
    ["partial", () => ({ body: ecb(today(), { USD: "1.0523", GBP: "0.8321" }) }), "fx_feed_partial"],
    ["stale", () => ({ body: ecb(daysAgo(10), RATES) }), "fx_feed_stale"],
    ["jumpy", () => ({ body: ecb(today(), { ...RATES, USD: "1.40" }) }), "fx_feed_jump"],
    ["negative", () => ({ body: ecb(today(), { ...RATES, CHF: "-0.93" }) }), "fx_feed_invalid_rate"],
    ["failing (HTTP 503)", () => ({ status: 503, body: "busy" }), "fx_feed_unreachable"],
  ]) {
    test(`a ${name} feed leaves the last good rates and logs one ${event} line`, async () => {
      const good = await live(w);
      assert.ok(good, "the good feed ran first");
      feed.set(answer());
      const { outcome, lines } = await cron(w);
      assert.equal(outcome, "ok");
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0].level, "error");
      assert.equal(lines[0].event, event, JSON.stringify(lines[0]));
      assert.deepEqual(await live(w), good);
    });
  }
});

describe("scheduled FX refresh, edge cases", () => {
  test("an unreachable source logs fx_feed_unreachable and writes nothing", async () => {
    // Port 1: nothing listens there, and, below every ephemeral range, no
    // socket started meanwhile takes it (as one could a port just freed).
    const w = await startWorker({ bundle: BUNDLE, bindings: { FX_SOURCE: "http://127.0.0.1:1/rates.xml" } });
    try {
      const { lines } = await cron(w);
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0].event, "fx_feed_unreachable");
      assert.equal(await w.kv.get(LIVE), null);
    } finally {
      await w.close();
    }
  });

  test("the first refresh is checked against the bundle's rates; a JSON map feed works", async () => {
    const feed = await feedServer();
    const w = await startWorker({ bundle: BUNDLE, bindings: { FX_SOURCE: feed.url, FX_FORMAT: "json" } });
    try {
      // GBP-based like the bundle, USD 30 % up against it: refused.
      const map = (usd) => JSON.stringify({ base: "GBP", date: today(), rates: { EUR: 1.2, USD: usd, CHF: 1.12 } });
      feed.set({ body: map(1.65), type: "application/json" });
      assert.equal((await cron(w)).lines[0].event, "fx_feed_jump");
      feed.set({ body: map(1.27), type: "application/json" });
      assert.equal((await cron(w)).lines[0].event, "fx_refreshed");
      assert.equal((await live(w)).rates.USD, 1.27);
    } finally {
      await w.close();
      await feed.close();
    }
  });

  test("FX_SOURCE empty: no refresh, no fetch, no line", async () => {
    const w = await startWorker({ bundle: BUNDLE, bindings: { FX_SOURCE: "" } });
    try {
      const { outcome, lines } = await cron(w);
      assert.equal(outcome, "ok");
      assert.deepEqual(lines, []);
    } finally {
      await w.close();
    }
  });
});

// ---------- prices with live rates ----------

const iso = (msAgo) => new Date(Date.now() - msAgo).toISOString().slice(0, 19) + "Z";
const HOUR = 3_600_000;
const priceOf = (body) => /<span id="p1"[^>]*>([^<]*)<\/span>/.exec(body)?.[1];

describe("prices with the live rates", () => {
  let origin;
  before(async () => (origin = await startOrigin()));
  after(async () => origin?.close());

  /** A worker on the /l10n page whose bundle rates are `bundleAge` old. */
  async function shop(bundleAge, bindings = {}) {
    const fx = { base: "GBP", as_of: iso(bundleAge), rates: { EUR: 1.2018, USD: 1.2647, CHF: 1.119 } };
    const bundle = buildBundle(FX_CONFIG, { fx });
    return startWorker({ origin: origin.url, bundle, bindings: { FX_SOURCE: "", ...bindings } });
  }
  const visit = async (w) => {
    const res = await w.request("/l10n", { cf: CF.DE });
    return { body: res.body.toString(), d: contextOf(res).decisions };
  };

  test("a refreshed live key converts prices when the bundle's rates are stale", async () => {
    const feed = await feedServer();
    const w = await shop(7 * 24 * HOUR, { FX_SOURCE: feed.url });
    try {
      feed.set({ body: ecb(today(), RATES) });
      assert.equal((await cron(w)).lines[0].event, "fx_refreshed");
      const { body, d } = await visit(w);
      assert.equal(d.prices, "converted");
      assert.equal(d.currency, "EUR");
      // 2.55 GBP × (1 / 0.8321) = 3.0645 → up to the cent.
      assert.equal(priceOf(body), intlPrice("de-DE", "EUR", 3.07));
      assert.ok(d.kv.some((r) => r.key === LIVE && r.found), JSON.stringify(d.kv));
    } finally {
      await w.close();
      await feed.close();
    }
  });

  test("stale live rates and stale bundle rates: prices stay in the shop's currency", async () => {
    const w = await shop(7 * 24 * HOUR);
    try {
      await w.kv.put(LIVE, JSON.stringify({ base: "EUR", as_of: iso(72 * HOUR), rates: { GBP: 0.8321, USD: 1.0523, CHF: 0.9312 } }));
      const { body, d } = await visit(w);
      assert.equal(d.prices, "stale_rates");
      assert.equal(d.currency, "GBP");
      assert.equal(priceOf(body), intlPrice("de-DE", "GBP", 2.55));
    } finally {
      await w.close();
    }
  });

  test("fresh bundle rates win over a stalled live key", async () => {
    const w = await shop(2 * HOUR);
    try {
      await w.kv.put(LIVE, JSON.stringify({ base: "EUR", as_of: iso(72 * HOUR), rates: { GBP: 0.5, USD: 1.0523, CHF: 0.9312 } }));
      const { body, d } = await visit(w);
      assert.equal(d.prices, "converted");
      // 2.55 × 1.2018 = 3.06459 → 3.07 (the stale live rate would give 5.10).
      assert.equal(priceOf(body), intlPrice("de-DE", "EUR", 3.07));
    } finally {
      await w.close();
    }
  });
});

// ---------- the conversion beacon ----------

describe("conversion beacon", () => {
  const PZ_CONFIG = {
    ...FX_CONFIG,
    bundle: "fx-2",
    personalization: {
      slots: {},
      holdout: 0.1,
      experiments: [{ name: "recs", arms: [{ name: "a", weight: 1 }, { name: "b", weight: 1 }] }],
    },
  };
  const VID = "0123456789abcdef0123456789abcdef";
  const COOKIE = `borderless_consent=yes; borderless_vid=${VID}`;
  let w;
  before(async () => {
    const fx = { base: "GBP", as_of: iso(HOUR), rates: { EUR: 1.25, USD: 1.3, CHF: 1.1 } };
    w = await startWorker({ bundle: buildBundle(PZ_CONFIG, { fx }), bindings: { FX_SOURCE: "" } });
  });
  after(async () => w?.close());

  const post = (body, headers = {}) =>
    w.request("/__borderless/event", { method: "POST", body, cf: CF.DE, headers: { "content-type": "application/json", cookie: COOKIE, ...headers } });
  const conversions = () => w.jsonLogs().filter((l) => l.event === "conversion");

  test("a good beacon is 204 and one conversion line in the shop's currency", async () => {
    const res = await post(JSON.stringify({ order: "A-1001", value: 25, currency: "EUR" }));
    assert.equal(res.status, 204);
    let lines = [];
    for (let i = 0; i < 50 && !lines.length; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = conversions();
    }
    assert.equal(lines.length, 1);
    const c = lines[0];
    assert.equal(c.visitor, VID);
    assert.equal(c.country, "DE");
    assert.equal(c.value_site, 20);
    assert.ok(c.arm === "holdout" || c.arm.startsWith("recs:"), c.arm);
    const cookie = [res.headers["set-cookie"]].flat().find((c) => c.startsWith("borderless_orders="));
    assert.ok(cookie, "the order is remembered");
    // The same order again: accepted, not counted twice.
    const again = await post(JSON.stringify({ order: "A-1001", value: 25, currency: "EUR" }), { cookie: `${COOKIE}; ${cookie.split(";")[0]}` });
    assert.equal(again.status, 204);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(conversions().length, 1);
  });

  for (const [name, body] of [
    ["oversized", JSON.stringify({ order: "A-1", value: 1, currency: "EUR", pad: "x".repeat(4000) })],
    ["a number as order id", JSON.stringify({ order: 1001, value: 1, currency: "EUR" })],
    ["a string value", JSON.stringify({ order: "A-2", value: "twenty", currency: "EUR" })],
    ["an unknown currency", JSON.stringify({ order: "A-3", value: 1, currency: "JPY" })],
    ["not JSON", "order=A-4&value=1"],
    ["an extra field", JSON.stringify({ order: "A-5", value: 1, currency: "EUR", visitor: "someone-else" })],
  ]) {
    test(`${name}: 400 and no line`, async () => {
      const before = w.logs.length;
      const res = await post(body);
      assert.equal(res.status, 400);
      assert.ok(JSON.parse(res.body.toString()).error);
      await new Promise((r) => setTimeout(r, 100));
      const lines = w.logs.slice(before).filter((l) => l.includes('"event"'));
      assert.deepEqual(lines, []);
    });
  }

  test("GET on the beacon is 405", async () => {
    const res = await w.request("/__borderless/event", { cf: CF.DE });
    assert.equal(res.status, 405);
  });
});

describe("with Analytics Engine bound", () => {
  // Miniflare's local dataset keeps nothing to read back: this checks that the
  // writes go through (a failed one logs analytics_write_failed).
  test("with the EVENTS binding, lines are logged and data point writes raise no error", async () => {
    const origin = await startOrigin();
    const config = {
      ...FX_CONFIG,
      bundle: "fx-3",
      personalization: { slots: {}, experiments: [{ name: "recs", arms: [{ name: "a", weight: 1 }] }] },
    };
    const fx = { base: "GBP", as_of: iso(HOUR), rates: { EUR: 1.25, USD: 1.3, CHF: 1.1 } };
    const w = await startWorker({
      origin: origin.url,
      bundle: buildBundle(config, { fx }),
      bindings: { FX_SOURCE: "" },
      miniflare: { analyticsEngineDatasets: { EVENTS: { dataset: "borderless_e2e" } } },
    });
    try {
      const cookie = "borderless_consent=yes; borderless_vid=0123456789abcdef0123456789abcdef";
      const page = await w.request("/l10n", { cf: CF.DE, headers: { cookie } });
      assert.equal(page.status, 200);
      const beacon = await w.request("/__borderless/event", {
        method: "POST",
        cf: CF.DE,
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ order: "AE-1", value: 10, currency: "EUR" }),
      });
      assert.equal(beacon.status, 204);
      let events = [];
      for (let i = 0; i < 50 && events.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        events = w.jsonLogs().filter((l) => l.event === "assignment" || l.event === "conversion");
      }
      assert.deepEqual(events.map((e) => e.event), ["assignment", "conversion"]);
      assert.equal(events[1].value_site, 8);
      assert.deepEqual(w.jsonLogs().filter((l) => l.level === "error"), []);
    } finally {
      await w.close();
      await origin.close();
    }
  });
});
