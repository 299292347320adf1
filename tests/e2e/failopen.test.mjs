// Failing open: a missing or broken config, or a broken origin answer, never
// breaks the page. The shop is served exactly as its origin made it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, HTML_PAGE } from "./origin.mjs";
import { startWorker, request, contextOf, CF, TEST_CONFIG } from "./harness.mjs";

let origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

const HOP = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);
const withRule = (rule) => ({ ...TEST_CONFIG, rules: [...TEST_CONFIG.rules, rule] });

// The worker caches the config in its isolate for 30 s, so every KV state
// gets its own workerd.
const STATES = [
  { name: "missing", config: null, event: "config_missing" },
  { name: "not JSON", config: "{ this is not json", event: "config_unparsable" },
  { name: "empty string", config: "", event: "config_unparsable" },
  { name: "JSON null", config: "null", event: "config_unparsable" },
  { name: "unknown version 99", config: JSON.stringify({ ...TEST_CONFIG, version: 99 }), event: "config_unknown_version" },
  { name: "version 99 of another shape", config: '{"version":99,"pages":{"/":[]}}', event: "config_unknown_version" },
  { name: "unknown field (schema)", config: { ...TEST_CONFIG, surprise: true }, event: "config_unparsable" },
  { name: "rules is not a list (schema)", config: { ...TEST_CONFIG, rules: { select: "html" } }, event: "config_unparsable" },
  { name: "event-handler attribute", config: withRule({ select: "a", set_attr: { onclick: "alert(1)" } }), event: "config_invalid" },
  { name: "bad selector", config: withRule({ select: "p[", set_text: "x" }), event: "config_invalid" },
  { name: "unknown template variable", config: withRule({ select: "p", set_text: "{password}" }), event: "config_invalid" },
  { name: "rewriter memory below the minimum", config: { ...TEST_CONFIG, limits: { rewriter_memory: 1024 } }, event: "config_invalid" },
  { name: "currency not ISO 4217", config: { ...TEST_CONFIG, site: { default_locale: "en-GB", currency: "£" } }, event: "config_invalid" },
  { name: "over 1 MiB", config: JSON.stringify({ ...TEST_CONFIG, bundle: "x" }) + " ".repeat(1 << 20), event: "config_too_large" },
];

describe("broken KV config: origin page untouched", () => {
  for (const state of STATES) {
    test(`config ${state.name}`, async () => {
      const w = await startWorker({ origin: origin.url, config: state.config });
      try {
        const direct = await request(origin.url, "/html");
        const res = await w.request("/html", { cf: CF.DE });
        assert.equal(res.status, 200);
        assert.ok(res.body.equals(HTML_PAGE), "body byte-identical to the origin's");
        for (const [k, v] of Object.entries(direct.headers)) {
          if (!HOP.has(k)) assert.deepEqual(res.headers[k], v, `header ${k}`);
        }
        assert.equal(res.headers["content-length"], String(HTML_PAGE.length));
        const report = contextOf(res);
        assert.equal(report.decisions.body, "passthrough: config");
        assert.equal(report.context.country, "DE", "the context is still reported");
        if (state.config === null) {
          assert.deepEqual(report.decisions.kv.filter((k) => k.key === "config").map((k) => k.found), [false]);
        }
        // One structured error line per faulty request.
        const lines = w.jsonLogs().filter((l) => l.level === "error");
        assert.equal(lines.length, 1, `log lines: ${w.logs.join(" | ")}`);
        assert.equal(lines[0].event, state.event);
        assert.equal(lines[0].path, "/html");
        assert.equal(typeof lines[0].detail, "string");
        // Non-HTML is untouched too, and a second request still falls open.
        const img = await w.request("/image.png", { cf: CF.DE });
        assert.equal(img.status, 200);
        assert.equal(img.headers["content-type"], "image/png");
        const again = await w.request("/html", { cf: CF.DE });
        assert.ok(again.body.equals(HTML_PAGE));
      } finally {
        await w.close();
      }
    });
  }

  test("config missing, PREVIEW off: the response is exactly the origin's", async () => {
    const w = await startWorker({ origin: origin.url, config: null, preview: "off" });
    try {
      for (const p of ["/html", "/headers", "/redirect", "/image.png"]) {
        const direct = await request(origin.url, p);
        const res = await w.request(p, { cf: CF.DE });
        assert.equal(res.status, direct.status, p);
        assert.ok(res.body.equals(direct.body), `${p} body`);
        const strip = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)));
        assert.deepEqual(strip(res.headers), strip(direct.headers), `${p} headers`);
      }
    } finally {
      await w.close();
    }
  });
});

describe("broken origin answers", () => {
  let w;
  before(async () => {
    w = await startWorker({ origin: origin.url });
  });
  after(async () => {
    await w?.close();
  });

  test("origin 500 with an HTML body passes untouched", async () => {
    const res = await w.request("/error500", { cf: CF.DE });
    assert.equal(res.status, 500);
    assert.ok(res.body.equals(HTML_PAGE));
    assert.equal(res.headers["content-length"], String(HTML_PAGE.length));
    assert.equal(res.headers["retry-after"], "30");
    assert.equal(contextOf(res).decisions.body, "passthrough: status");
  });

  test("200 text/html with an empty body stays empty", async () => {
    const res = await w.request("/empty", { cf: CF.DE });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.equal(res.error, null);
  });

  test("204 passes with no body", async () => {
    const res = await w.request("/nocontent", { cf: CF.DE });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
  });

  test("a GET carrying a body still gets the page (the worker must not answer 500 itself)", async () => {
    // Any fault inside the worker should fall open to the origin. A GET with a
    // body makes building the origin request fail; the worker then answers
    // 500 "INTERNAL SERVER ERROR" without ever asking the origin.
    const before = origin.seenFor("/html").length;
    const res = await w.request("/html", {
      cf: CF.DE,
      body: "q=1",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": "3" },
    });
    assert.notEqual(res.body.toString(), "INTERNAL SERVER ERROR");
    assert.equal(res.status, 200, `status ${res.status}: ${res.body.toString().slice(0, 80)}`);
    assert.equal(origin.seenFor("/html").length, before + 1, "the origin was asked");
  });
});
