// The handler's two paths answer alike. A worker's first request finds no
// config in the isolate, so the entry takes the async handler (which reads
// KV); the same request again finds everything cached and takes the
// synchronous one (src/glue/sync.rs), with the origin fetched and the
// response built in worker/entry.mjs. Each case gets a fresh worker.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startOrigin } from "./origin.mjs";
import { startWorker, CF, UA } from "./harness.mjs";

const NOW = "2026-12-24T18:30:00Z";
const headers = { "user-agent": UA.chrome, "x-borderless-now": NOW };

let origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

/** Status, headers (but the date) and body of a response. */
function seen(res) {
  const h = Object.entries(res.headers).filter(([k]) => k !== "date");
  return { status: res.status, headers: Object.fromEntries(h), body: res.body.toString("base64") };
}

const CASES = [
  ["a page rewritten", "/html", {}],
  ["a page sent in pieces", "/html?split=40", {}],
  ["HEAD of a page", "/html", { method: "HEAD" }],
  ["a gzip page", "/gzip", {}],
  ["a redirect", "/redirect", {}],
  ["an origin error", "/error500", {}],
  ["no content", "/nocontent", {}],
  ["JSON, passed through", "/json", {}],
  ["a validator the origin confirms", "/etag", { headers: { "if-none-match": '"v1"' } }],
  ["an excluded path", "/cart", {}],
];

describe("the synchronous handler answers as the async one", () => {
  for (const [name, path, opts] of CASES) {
    test(name, async () => {
      const w = await startWorker({ origin: origin.url, preview: "off" });
      try {
        const ask = () => w.request(path, { cf: CF.DE, ...opts, headers: { ...headers, ...opts.headers } });
        const cold = seen(await ask());
        const warm = seen(await ask());
        assert.deepEqual(warm, cold);
      } finally {
        await w.close();
      }
    });
  }
});

test("an unreachable origin: a 502 and an origin_unreachable line on both paths", async () => {
  // Port 1: below every ephemeral range, so nothing started meanwhile (a
  // workerd's own sockets) can take it, as it could a port just freed.
  const w = await startWorker({ origin: "http://127.0.0.1:1", preview: "off" });
  try {
    for (const path of ["cold", "warm"]) {
      const res = await w.request("/html", { cf: CF.DE, headers });
      assert.equal(res.status, 502, path);
      assert.equal(res.body.toString(), "Bad Gateway\n", path);
    }
    const unreachable = w.jsonLogs().filter((l) => l.event === "origin_unreachable");
    assert.equal(unreachable.length, 2, JSON.stringify(w.jsonLogs()));
  } finally {
    await w.close();
  }
});
