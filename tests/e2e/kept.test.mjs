// Kept pages (src/page/variants.rs) in workerd: the demo shop on its real
// KV bundle (translation memories, prices, personal slots), each page asked
// three times per visitor of a worker that keeps pages (the shipped
// default) and once of one that rewrites every page (`KEPT_PAGES=off`). A
// page answered from a kept one must be the page rewritten again, byte for
// byte, with the same log lines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startDemoOrigin, request, DEMO_BUNDLE_PATH, CF, UA } from "./harness.mjs";

let demo;
let keeping;
let rewriting;

before(async () => {
  demo = await startDemoOrigin();
  keeping = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH, preview: "off" });
  rewriting = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH, preview: "off", bindings: { KEPT_PAGES: "off" } });
});
after(async () => {
  await keeping?.close();
  await rewriting?.close();
  await demo?.close();
});

// A returning visitor (their id cookie): the same id on every request.
const VISITORS = [
  ["DE", { cf: CF.DE, headers: { "accept-language": "de-DE,de;q=0.9", cookie: "borderless_vid=000000000000000000000000000000a1" } }],
  ["JP", { cf: CF.JP, headers: { "accept-language": "ja-JP,ja;q=0.9", cookie: "borderless_vid=000000000000000000000000000000b2" } }],
  ["GB, new", { cf: CF.GB, headers: { "accept-language": "en-GB,en;q=0.9" } }],
];

/** The page's structured log lines, the visitor id left out. */
function linesOf(worker, from) {
  return worker.logs
    .slice(from)
    .filter((l) => l.includes("{"))
    .map((l) => l.slice(l.indexOf("{")).replace(/"visitor":"[0-9a-f]+"/, '"visitor":"…"'));
}

test("a kept page is the page rewritten again", async () => {
  const home = (await request(demo.url, "/")).body.toString();
  const product = /href="(\/p\/[0-9A-Za-z]+)"/.exec(home)?.[1];
  const category = /href="(\/c\/[a-z]+)"/.exec(home)?.[1];
  assert.ok(product && category, "the demo's home links a product and a category");
  let compared = 0;
  for (const p of ["/", category, product, "/about", "/de-de/"]) {
    for (const [name, opts] of VISITORS) {
      // Request for request: a visitor's assignment line comes once
      // (src/page/seen.rs), in both isolates on the same request.
      for (let i = 0; i < 3; i++) {
        const before = rewriting.logs.length;
        const want = await rewriting.request(p, { ...opts, ua: UA.chrome });
        await new Promise((r) => setTimeout(r, 20));
        const wantLines = linesOf(rewriting, before);
        const from = keeping.logs.length;
        const got = await keeping.request(p, { ...opts, ua: UA.chrome });
        assert.equal(got.status, want.status, `${p} ${name}`);
        assert.ok(got.body.equals(want.body), `${p} ${name}, request ${i + 1}: the page differs`);
        for (const h of ["content-type", "cache-control", "vary", "etag", "content-language"]) {
          assert.equal(got.headers[h], want.headers[h], `${p} ${name}: ${h}`);
        }
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(linesOf(keeping, from), wantLines, `${p} ${name}: log lines`);
        compared++;
      }
    }
  }
  assert.equal(compared, 5 * VISITORS.length * 3);
  assert.ok(keeping.logs.some((l) => l.includes('"assignment"') || l.includes('"exposure"')), "the pages' log lines");
  // 15 page views per visitor, and one assignment line per visitor, arm and segment.
  const assigned = keeping.logs
    .filter((l) => l.includes('"assignment"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))))
    .map((e) => `${e.visitor} ${e.arm} ${e.segment}`);
  assert.ok(assigned.length > 0, "returning visitors' assignment lines");
  assert.equal(new Set(assigned).size, assigned.length, `once each: ${assigned.join("; ")}`);
});
