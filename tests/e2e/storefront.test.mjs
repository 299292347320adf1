// 95 real product pages (../shared/data/storefront-pages) through the worker:
// rules that match nothing must leave every byte as it was, and a rule that
// matches only <html> must change nothing else.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, storefrontNames, storefrontPage } from "./origin.mjs";
import { startWorker, contextOf, CF } from "./harness.mjs";

const NAMES = storefrontNames();

// Rules that target nothing on these pages (checked below).
const NOTHING_CONFIG = {
  version: 1,
  bundle: "e2e-store",
  site: { default_locale: "en-GB", currency: "GBP" },
  rules: [
    { select: "[data-borderless-greeting]", set_text: "Good {daypart}!" },
    { select: "[data-bl-nothing]", set_attr: { "data-bl-country": "{country}" } },
  ],
};
// One attribute on the root element only.
const ROOT_CONFIG = {
  ...NOTHING_CONFIG,
  bundle: "e2e-store-root",
  rules: [{ select: "html", set_attr: { "data-bl-country": "{country}" } }],
};
const ROOT_ATTR = ' data-bl-country="DE"';

let origin;
let nothing;
let root;
before(async () => {
  origin = await startOrigin();
  [nothing, root] = await Promise.all([
    startWorker({ origin: origin.url, config: NOTHING_CONFIG }),
    startWorker({ origin: origin.url, config: ROOT_CONFIG }),
  ]);
});
after(async () => {
  await nothing?.close();
  await root?.close();
  await origin?.close();
});

test("the benchmark is all there: 95 pages, all UTF-8, none with our markers", () => {
  assert.equal(NAMES.length, 95);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for (const name of NAMES) {
    const page = storefrontPage(name);
    assert.doesNotThrow(() => utf8.decode(page), `${name} is valid UTF-8`);
    const s = page.toString("latin1");
    assert.ok(!s.includes("data-borderless-greeting") && !s.includes("data-bl-"), `${name} has no marker`);
  }
});

describe("rules that match nothing: byte-identical", () => {
  for (const name of NAMES) {
    test(name.slice(0, 16), async () => {
      const page = storefrontPage(name);
      for (const q of ["", "?charset=0"]) {
        const res = await nothing.request(`/store/${name}${q}`, { cf: CF.DE });
        assert.equal(res.status, 200, q);
        assert.equal(res.error, null, q);
        assert.equal(contextOf(res).decisions.body, "rewrite", `${q}: the body went through the rewriter`);
        assert.equal(res.headers["content-length"], undefined, `${q}: rewritten responses carry no Content-Length`);
        if (!res.body.equals(page)) {
          const at = [...page].findIndex((b, i) => res.body[i] !== b);
          assert.fail(
            `${q || "charset=utf-8"}: ${res.body.length} vs ${page.length} bytes, first difference at ${at}: ` +
              `${JSON.stringify(res.body.subarray(Math.max(0, at - 40), at + 40).toString())} vs ` +
              `${JSON.stringify(page.subarray(Math.max(0, at - 40), at + 40).toString())}`,
          );
        }
      }
    });
  }
});

describe("a rule on <html> only: one attribute added, nothing else changed", () => {
  for (const name of NAMES) {
    test(name.slice(0, 16), async () => {
      const page = storefrontPage(name);
      const res = await root.request(`/store/${name}`, { cf: CF.DE });
      assert.equal(res.status, 200);
      assert.equal(contextOf(res).decisions.body, "rewrite");
      assert.equal(res.body.length, page.length + ROOT_ATTR.length);
      const at = res.body.indexOf(ROOT_ATTR);
      assert.ok(at > 0, "attribute added");
      const open = res.body.lastIndexOf("<", at);
      assert.match(res.body.subarray(open, open + 5).toString(), /^<html/i, "on the html element");
      const without = Buffer.concat([res.body.subarray(0, at), res.body.subarray(at + ROOT_ATTR.length)]);
      assert.ok(without.equals(page), "everything else byte-identical");
    });
  }
});

test("no page tripped the rewriter's memory cap or any other fault", () => {
  const faults = [...nothing.jsonLogs(), ...root.jsonLogs()].filter((l) => l.level === "error");
  assert.deepEqual(faults, []);
});
