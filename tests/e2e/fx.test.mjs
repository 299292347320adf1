// The FX refresh in workerd: Miniflare dispatches the Cron Trigger to the
// built worker, whose scheduled handler fetches a feed from a local server
// (good, malformed, partial, stale, unreachable) and writes the live FX key
// only when the feed passes; a bad feed leaves the old rates and logs one
// error line.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startWorker } from "./harness.mjs";

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
    ["an HTTP error", () => ({ status: 503, body: "busy" }), "fx_feed_unreachable"],
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
    // A port nothing listens on.
    const probe = http.createServer();
    await new Promise((r) => probe.listen(0, "127.0.0.1", r));
    const port = probe.address().port;
    await new Promise((r) => probe.close(r));
    const w = await startWorker({ bundle: BUNDLE, bindings: { FX_SOURCE: `http://127.0.0.1:${port}/rates.xml` } });
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
