// Preview: the context the worker derives (geo, device, local time) and the
// report header, with and without the preview gate.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startOrigin } from "./origin.mjs";
import { startWorker, contextOf, CF, UA } from "./harness.mjs";

const TOKEN = "e2e-preview-token-0123456789";
const PRIVATE = [
  "x-borderless-preview",
  "x-borderless-country",
  "x-borderless-region",
  "x-borderless-timezone",
  "x-borderless-latitude",
  "x-borderless-device",
  "x-borderless-now",
];
const ALL_OVERRIDES = {
  "x-borderless-country": "AU",
  "x-borderless-region": "Victoria",
  "x-borderless-timezone": "Australia/Melbourne",
  "x-borderless-latitude": "-37.8",
  "x-borderless-device": "tablet",
  "x-borderless-now": "2026-12-24T18:30:00Z",
};

let origin;
let on; // PREVIEW = "on"
let off; // PREVIEW = "off", with a PREVIEW_TOKEN secret
before(async () => {
  origin = await startOrigin();
  on = await startWorker({ origin: origin.url });
  off = await startWorker({ origin: origin.url, preview: "off", token: TOKEN });
});
after(async () => {
  await on?.close();
  await off?.close();
  await origin?.close();
});

/** Fetches /html with PREVIEW on and returns [report, body text]. */
async function preview(cf, headers = {}, opts = {}) {
  const res = await on.request("/html", { cf, headers, ...opts });
  assert.equal(res.status, 200);
  const report = contextOf(res);
  assert.ok(report, "x-borderless-context present");
  return [report, res.body.toString()];
}

const htmlAttr = (body, name) => new RegExp(`<html[^>]* ${name}="([^"]*)"`).exec(body)?.[1];

describe("context from cf, pinned clock", () => {
  test("DE: Berlin, an evening in winter", async () => {
    const [r, body] = await preview(CF.DE, { "x-borderless-now": "2026-12-24T18:30:00Z", "accept-language": "de-DE,de;q=0.9" });
    const c = r.context;
    assert.equal(c.country, "DE");
    assert.equal(c.region, "Berlin");
    assert.equal(c.region_code, "BE");
    assert.equal(c.timezone, "Europe/Berlin");
    assert.equal(c.latitude, 52.52);
    assert.equal(c.longitude, 13.405);
    assert.equal(c.continent, "EU");
    assert.equal(c.is_eu, true);
    assert.equal(c.verified_bot, false);
    assert.equal(c.device, "desktop");
    assert.deepEqual(c.time, {
      local: "2026-12-24T19:30:00+01:00",
      utc_offset_minutes: 60,
      weekday: "thu",
      daypart: "evening",
      day_kind: "weekday",
      season: "winter",
    });
    assert.equal(c.accept_language, "de-DE,de;q=0.9");
    assert.equal(c.path, "/html");
    assert.equal(r.decisions.body, "rewrite");
    assert.equal(r.ignored_overrides, undefined, "no ignored_overrides when none were ignored");
    assert.equal(htmlAttr(body, "data-bl-country"), "DE");
    assert.equal(htmlAttr(body, "data-bl-daypart"), "evening");
    assert.equal(htmlAttr(body, "data-bl-season"), "winter");
    assert.match(body, /<span data-borderless-greeting>Good evening!<\/span>/);
  });

  test("JP: Asia/Tokyo, the same instant is Friday night", async () => {
    const [r, body] = await preview(CF.JP, { "x-borderless-now": "2026-12-24T18:30:00Z" });
    assert.equal(r.context.country, "JP");
    assert.equal(r.context.timezone, "Asia/Tokyo");
    assert.equal(r.context.is_eu, false);
    assert.equal(r.context.continent, "AS");
    assert.deepEqual(r.context.time, {
      local: "2026-12-25T03:30:00+09:00",
      utc_offset_minutes: 540,
      weekday: "fri",
      daypart: "night",
      day_kind: "weekday",
      season: "winter",
    });
    assert.match(body, /Good night!/);
  });

  test("US: New York on a July Saturday, daylight saving time", async () => {
    const [r] = await preview(CF.US, { "x-borderless-now": "2026-07-04T16:00:00Z" });
    assert.equal(r.context.country, "US");
    assert.equal(r.context.region_code, "NY");
    assert.deepEqual(r.context.time, {
      local: "2026-07-04T12:00:00-04:00",
      utc_offset_minutes: -240,
      weekday: "sat",
      daypart: "afternoon",
      day_kind: "weekend",
      season: "summer",
    });
  });

  test("US: New York in January is UTC-5", async () => {
    const [r] = await preview(CF.US, { "x-borderless-now": "2026-01-15T13:00:00Z" });
    assert.equal(r.context.time.utc_offset_minutes, -300);
    assert.equal(r.context.time.local, "2026-01-15T08:00:00-05:00");
    assert.equal(r.context.time.season, "winter");
  });

  test("AU: Sydney in December is summer (southern hemisphere)", async () => {
    const [r, body] = await preview(CF.AU, { "x-borderless-now": "2026-12-24T18:30:00Z" });
    assert.equal(r.context.country, "AU");
    assert.equal(r.context.latitude, -33.8688);
    assert.deepEqual(r.context.time, {
      local: "2026-12-25T05:30:00+11:00",
      utc_offset_minutes: 660,
      weekday: "fri",
      daypart: "morning",
      day_kind: "weekday",
      season: "summer",
    });
    assert.equal(htmlAttr(body, "data-bl-season"), "summer");
  });

  test("dayparts change at 05, 12, 17 and 22 local time", async () => {
    // Berlin is UTC+1 in January.
    const cases = [
      ["03:59", "night"],
      ["04:00", "morning"],
      ["10:59", "morning"],
      ["11:00", "afternoon"],
      ["15:59", "afternoon"],
      ["16:00", "evening"],
      ["20:59", "evening"],
      ["21:00", "night"],
    ];
    for (const [utc, want] of cases) {
      const [r, body] = await preview(CF.DE, { "x-borderless-now": `2026-01-14T${utc}:00Z` });
      assert.equal(r.context.time.daypart, want, `${utc}Z`);
      assert.equal(htmlAttr(body, "data-bl-daypart"), want, `${utc}Z attribute`);
    }
  });

  test("weekends follow CLDR: Fri+Sat in Saudi Arabia, Sat+Sun in the UAE and Germany", async () => {
    const friday = "2026-12-18T09:00:00Z";
    const sunday = "2026-12-20T09:00:00Z";
    const kind = async (country, tz, now) =>
      (await preview(CF.DE, { "x-borderless-country": country, "x-borderless-timezone": tz, "x-borderless-now": now }))[0]
        .context.time;
    assert.deepEqual([(await kind("SA", "Asia/Riyadh", friday)).weekday, (await kind("SA", "Asia/Riyadh", friday)).day_kind], ["fri", "weekend"]);
    assert.equal((await kind("SA", "Asia/Riyadh", sunday)).day_kind, "weekday");
    assert.equal((await kind("AE", "Asia/Dubai", friday)).day_kind, "weekday");
    assert.equal((await kind("AE", "Asia/Dubai", sunday)).day_kind, "weekend");
    assert.equal((await kind("DE", "Europe/Berlin", sunday)).day_kind, "weekend");
    assert.equal((await kind("DE", "Europe/Berlin", friday)).day_kind, "weekday");
  });

  test("verified bot flag from cf.botManagement", async () => {
    const [r] = await preview({ ...CF.US, botManagement: { verifiedBot: true, score: 1 } }, {}, { ua: UA.googlebot });
    assert.equal(r.context.verified_bot, true);
    assert.equal(r.context.device, "bot");
  });

  test("non-ASCII cf values: the header stays one line of ASCII and round-trips", async () => {
    const res = await on.request("/html", { cf: { ...CF.DE, country: "FR", region: "Île-de-France 🇫🇷", regionCode: "IDF", timezone: "Europe/Paris" } });
    const raw = res.headers["x-borderless-context"];
    assert.match(raw, /^[\x20-\x7e]+$/);
    assert.equal(contextOf(res).context.region, "Île-de-France 🇫🇷");
  });

  test("config source: KV first, then the isolate cache", async () => {
    const w = await startWorker({ origin: origin.url });
    try {
      const first = contextOf(await w.request("/html", { cf: CF.DE }));
      const second = contextOf(await w.request("/html", { cf: CF.DE }));
      const config = (r) => r.decisions.kv.filter((k) => k.key === "config");
      assert.deepEqual(config(first), [{ key: "config", source: "kv", found: true }]);
      assert.deepEqual(config(second), [{ key: "config", source: "isolate", found: true }]);
    } finally {
      await w.close();
    }
  });
});

describe("overrides (PREVIEW on)", () => {
  test("all overrides at once replace the place, device and clock", async () => {
    const [r, body] = await preview(CF.DE, ALL_OVERRIDES);
    const c = r.context;
    assert.equal(c.country, "AU");
    assert.equal(c.region, "Victoria");
    assert.equal(c.region_code, null, "the real region code must not leak");
    assert.equal(c.timezone, "Australia/Melbourne");
    assert.equal(c.latitude, -37.8);
    assert.equal(c.is_eu, false);
    assert.equal(c.device, "tablet");
    assert.equal(c.time.local, "2026-12-25T05:30:00+11:00");
    assert.equal(c.time.season, "summer");
    assert.equal(r.ignored_overrides, undefined);
    assert.equal(htmlAttr(body, "data-bl-country"), "AU");
    assert.equal(htmlAttr(body, "data-bl-device"), "tablet");
  });

  test("a previewed country does not inherit the visitor's real place", async () => {
    const [r] = await preview(CF.DE, { "x-borderless-country": "fr", "x-borderless-now": "2026-12-24T18:30:00Z" });
    assert.equal(r.context.country, "FR", "upper-cased");
    assert.equal(r.context.is_eu, true);
    assert.equal(r.context.region, null);
    assert.equal(r.context.latitude, null);
    assert.equal(r.context.timezone, null);
    assert.equal(r.context.time.utc_offset_minutes, 0);
  });

  test("a negative latitude alone flips the season", async () => {
    const [r] = await preview(CF.DE, { "x-borderless-latitude": "-10.5", "x-borderless-now": "2026-12-24T18:30:00Z" });
    assert.equal(r.context.country, "DE");
    assert.equal(r.context.latitude, -10.5);
    assert.equal(r.context.time.season, "summer");
  });

  test("device: override header, iPhone, iPad, Android tablet, client hint, Googlebot, curl, no UA", async () => {
    const cases = [
      [{ headers: { "x-borderless-device": "mobile" } }, "mobile"],
      [{ headers: { "x-borderless-device": "BOT" } }, "bot"],
      [{ ua: UA.iphone }, "mobile"],
      [{ ua: UA.ipad }, "tablet"],
      [{ ua: UA.androidChrome }, "tablet"],
      [{ headers: { "sec-ch-ua-mobile": "?1" } }, "mobile"],
      [{ headers: { "sec-ch-ua-mobile": "?0" } }, "desktop"],
      [{ ua: UA.googlebot }, "bot"],
      [{ ua: UA.googlebot, headers: { "sec-ch-ua-mobile": "?1" } }, "bot"],
      [{ ua: "curl/8.5.0" }, "bot"],
      [{ ua: "python-requests/2.32.3" }, "bot"],
      [{ ua: null }, "bot"],
      [{}, "desktop"],
    ];
    for (const [opts, want] of cases) {
      const [r, body] = await preview(CF.DE, opts.headers, { ua: opts.ua });
      assert.equal(r.context.device, want, JSON.stringify(opts));
      assert.equal(htmlAttr(body, "data-bl-device"), want, `${JSON.stringify(opts)} attribute`);
    }
  });

  test("invalid overrides are ignored and listed; the real context stays", async () => {
    const [r] = await preview(CF.DE, {
      "x-borderless-country": "Germany",
      "x-borderless-timezone": "../etc/passwd",
      "x-borderless-latitude": "91",
      "x-borderless-device": "toaster",
      "x-borderless-now": "yesterday",
    });
    assert.deepEqual(r.ignored_overrides, [
      "x-borderless-country",
      "x-borderless-timezone",
      "x-borderless-latitude",
      "x-borderless-device",
      "x-borderless-now",
    ]);
    assert.equal(r.context.country, "DE");
    assert.equal(r.context.timezone, "Europe/Berlin");
    assert.equal(r.context.latitude, 52.52);
    assert.equal(r.context.device, "desktop");
    const now = Date.parse(r.context.time.local);
    assert.ok(Math.abs(now - Date.now()) < 60_000, "the real clock is used");
  });

  test("more invalid values: over-long, not RFC 3339, NaN, one letter", async () => {
    const [r] = await preview(CF.DE, {
      "x-borderless-country": "D",
      "x-borderless-region": "x".repeat(65),
      "x-borderless-latitude": "NaN",
      "x-borderless-now": "2026-13-01T00:00:00Z",
    });
    assert.deepEqual(r.ignored_overrides, ["x-borderless-country", "x-borderless-region", "x-borderless-latitude", "x-borderless-now"]);
    assert.equal(r.context.region, "Berlin");
  });

  test("some valid, some not: only the invalid ones are listed", async () => {
    const [r] = await preview(CF.DE, { "x-borderless-country": "JP", "x-borderless-device": "phone", "x-borderless-now": "2026-12-24T18:30:00+09:00" });
    assert.deepEqual(r.ignored_overrides, ["x-borderless-device"]);
    assert.equal(r.context.country, "JP");
    assert.equal(r.context.time.local, "2026-12-24T09:30:00+00:00");
  });

  test("an unknown but well-formed time zone falls back to UTC", async () => {
    const [r] = await preview(CF.DE, { "x-borderless-timezone": "Mars/Olympus_Mons", "x-borderless-now": "2026-12-24T18:30:00Z" });
    assert.equal(r.context.timezone, null);
    assert.equal(r.context.time.utc_offset_minutes, 0);
    assert.equal(r.context.time.local, "2026-12-24T18:30:00+00:00");
  });

  test("the report header is also sent on passthrough responses", async () => {
    const res = await on.request("/json", { cf: CF.DE });
    assert.equal(contextOf(res).decisions.body, "passthrough: not_html");
  });
});

describe("preview gate", () => {
  test("PREVIEW off: overrides ignored, no report header", async () => {
    const res = await off.request("/html", { cf: CF.DE, headers: ALL_OVERRIDES });
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-borderless-context"], undefined);
    const body = res.body.toString();
    assert.equal(htmlAttr(body, "data-bl-country"), "DE", "the real country, not the override");
    assert.equal(htmlAttr(body, "data-bl-device"), "desktop");
    assert.equal(htmlAttr(body, "data-bl-season") === "summer", false, "no season from the overrides");
  });

  test("PREVIEW off: the right token enables preview", async () => {
    const res = await off.request("/html", { cf: CF.DE, headers: { ...ALL_OVERRIDES, "x-borderless-preview": TOKEN } });
    const r = contextOf(res);
    assert.ok(r, "report header present");
    assert.equal(r.context.country, "AU");
    assert.equal(htmlAttr(res.body.toString(), "data-bl-country"), "AU");
  });

  test("PREVIEW off: a wrong, truncated or extended token does not", async () => {
    for (const bad of [TOKEN.slice(0, -1) + "X", TOKEN.slice(0, -1), TOKEN + "0", "", "on"]) {
      const res = await off.request("/html", { cf: CF.DE, headers: { ...ALL_OVERRIDES, "x-borderless-preview": bad } });
      assert.equal(res.headers["x-borderless-context"], undefined, `token ${JSON.stringify(bad)}`);
      assert.equal(htmlAttr(res.body.toString(), "data-bl-country"), "DE", `token ${JSON.stringify(bad)}`);
    }
  });

  test("a secret shorter than 16 characters never enables preview", async () => {
    const short = "short-token-15ch";
    assert.equal(short.length, 16);
    const w = await startWorker({ origin: origin.url, preview: "off", token: short.slice(0, 15) });
    try {
      const res = await w.request("/html", { cf: CF.DE, headers: { "x-borderless-preview": short.slice(0, 15), "x-borderless-country": "AU" } });
      assert.equal(res.headers["x-borderless-context"], undefined);
      assert.equal(htmlAttr(res.body.toString(), "data-bl-country"), "DE");
    } finally {
      await w.close();
    }
  });

  test("the origin never sees x-borderless-* headers (GET, HEAD, POST; preview on and off)", async () => {
    const headers = { ...ALL_OVERRIDES, "x-borderless-preview": TOKEN, "x-custom-kept": "yes" };
    const mark = origin.seen.length;
    for (const w of [on, off]) {
      await w.request("/echo-headers", { cf: CF.DE, headers });
      await w.request("/html", { cf: CF.DE, headers, method: "HEAD" });
      await w.request("/echo-headers", { cf: CF.DE, headers: { ...headers, "content-type": "text/plain" }, method: "POST", body: "x" });
      await w.request("/json", { cf: CF.DE, headers });
    }
    const got = origin.seen.slice(mark);
    assert.equal(got.length, 8);
    for (const r of got) {
      assert.equal(r.headers["x-custom-kept"], "yes", "ordinary headers are forwarded");
      const leaked = Object.keys(r.headers).filter((k) => k.startsWith("x-borderless"));
      assert.deepEqual(leaked, [], `${r.method} ${r.url}`);
      assert.ok(!r.rawHeaders.some((v) => v.includes(TOKEN)), "the token is nowhere in the request");
    }
  });

  test("across the whole suite file, no request reached the origin with a private header", () => {
    assert.ok(origin.seen.length > 20);
    for (const r of origin.seen) {
      for (const name of PRIVATE) assert.equal(r.headers[name], undefined, `${name} on ${r.method} ${r.url}`);
    }
  });
});
