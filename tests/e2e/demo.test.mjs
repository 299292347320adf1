// The demo shop (demo/server.mjs) behind the worker with the demo config
// (demo/config.json): pages render, the greeting and <html> attributes are set,
// and the rest of each page is exactly what the shop sent.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { startWorker, request, contextOf, CF, UA, ROOT, DEMO_CONFIG_PATH } from "./harness.mjs";

const SERVER = path.join(ROOT, "demo", "server.mjs");
const NOW = "2026-12-24T18:30:00Z"; // Berlin 19:30, Tokyo 03:30 next day

let demo; // { url, proc }
let worker;

/** Starts the demo origin on a free port; resolves once it prints its "listening" line. */
function startDemo() {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SERVER, "--port", "0", "--host", "127.0.0.1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      proc.kill("SIGTERM");
      reject(new Error(`demo origin did not start in 60 s\nstdout: ${out}\nstderr: ${err}`));
    }, 60_000);
    proc.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1].replace(/\/$/, ""), proc });
      }
    });
    proc.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo origin exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

const haveDemo = fs.existsSync(SERVER);

before(async () => {
  if (!haveDemo) return;
  demo = await startDemo();
  worker = await startWorker({ origin: demo.url, config: fs.readFileSync(DEMO_CONFIG_PATH, "utf8") });
});
after(async () => {
  await worker?.close();
  if (demo) {
    demo.proc.removeAllListeners("exit"); // the start-up rejection handler
    const exited = new Promise((r) => demo.proc.once("exit", r));
    demo.proc.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  }
});

const skip = haveDemo ? false : "demo/server.mjs does not exist";

/** What the demo config makes of a shop page for the given context. */
function expected(html, { country, device, daypart, season }) {
  const s = html.replace(
    /<html([^>]*)>/,
    `<html$1 data-bl-country="${country}" data-bl-daypart="${daypart}" data-bl-device="${device}" data-bl-season="${season}">`,
  );
  return s.replace(/(<span data-borderless-greeting[^>]*>)[^<]*(<\/span>)/g, `$1Good ${daypart}!$2`);
}

async function both(p, opts = {}) {
  const direct = await request(demo.url, p, opts);
  const via = await worker.request(p, { cf: CF.DE, ...opts, headers: { "x-borderless-now": NOW, ...(opts.headers || {}) } });
  return { direct, via };
}

const DE_EVENING = { country: "DE", device: "desktop", daypart: "evening", season: "winter" };

describe("demo shop through the worker", { skip }, () => {
  let links;
  before(async () => {
    const home = await request(demo.url, "/");
    const html = home.body.toString();
    links = {
      categories: [...new Set([...html.matchAll(/href="(\/c\/[a-z]+)"/g)].map((m) => m[1]))],
      products: [...new Set([...html.matchAll(/href="(\/p\/[0-9A-Za-z]+)"/g)].map((m) => m[1]))],
      images: [...new Set([...html.matchAll(/src="(\/product-images\/[0-9A-Z]+\.svg)"/g)].map((m) => m[1]))],
    };
  });

  test("home page: greeting replaced, <html> attributes set, the rest identical", async () => {
    const { direct, via } = await both("/");
    assert.equal(direct.status, 200);
    assert.equal(via.status, 200);
    const body = via.body.toString();
    assert.match(body, /<span data-borderless-greeting[^>]*>Good evening!<\/span>/);
    assert.doesNotMatch(body, /data-borderless-greeting[^>]*>Welcome</);
    assert.match(body, /<html lang="en-GB" data-bl-country="DE" data-bl-daypart="evening" data-bl-device="desktop" data-bl-season="winter">/);
    assert.equal(body, expected(direct.body.toString(), DE_EVENING));
    assert.equal(contextOf(via).decisions.body, "rewrite");
    assert.equal(direct.headers["cache-control"], "public, max-age=60");
    assert.equal(via.headers["cache-control"], "private, max-age=60", "a tailored page is not for shared caches");
    assert.match(String(via.headers["set-cookie"]), /^shop_session=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.equal(via.headers["content-length"], undefined);
  });

  test("every category page", async () => {
    assert.ok(links.categories.length >= 3, `categories: ${links.categories}`);
    for (const p of links.categories) {
      const { direct, via } = await both(p);
      assert.equal(via.status, 200, p);
      assert.equal(via.body.toString(), expected(direct.body.toString(), DE_EVENING), p);
    }
  });

  test("product pages", async () => {
    assert.ok(links.products.length >= 3, `products: ${links.products}`);
    for (const p of links.products.slice(0, 6)) {
      const { direct, via } = await both(p);
      assert.equal(via.status, 200, p);
      const body = via.body.toString();
      assert.match(body, /Good evening!/, p);
      assert.equal(body, expected(direct.body.toString(), DE_EVENING), p);
    }
  });

  test("a visitor in Tokyo on an iPhone", async () => {
    const { direct, via } = await both(links.products[0], { cf: CF.JP, ua: UA.iphone });
    assert.equal(via.status, 200);
    assert.equal(via.body.toString(), expected(direct.body.toString(), { country: "JP", device: "mobile", daypart: "night", season: "winter" }));
    assert.equal(contextOf(via).context.timezone, "Asia/Tokyo");
  });

  test("a visitor in Sydney in December gets summer", async () => {
    const { via } = await both("/", { cf: CF.AU });
    const body = via.body.toString();
    assert.match(body, /data-bl-country="AU"/);
    assert.match(body, /data-bl-season="summer"/);
    assert.match(body, /data-bl-daypart="morning"/);
    assert.match(body, /Good morning!/);
  });

  test("/cart is excluded: byte-identical, greeting untouched", async () => {
    const { direct, via } = await both("/cart");
    assert.equal(via.status, 200);
    assert.ok(via.body.equals(direct.body));
    assert.match(via.body.toString(), /data-borderless-greeting[^>]*>Welcome</);
    assert.equal(contextOf(via).decisions.body, "passthrough: excluded_path");
    assert.equal(via.headers["content-length"], direct.headers["content-length"]);
  });

  test("/healthz, product images and the 404 page pass untouched", async () => {
    for (const p of ["/healthz", links.images[0] ?? "/healthz", "/no/such/page"]) {
      const { direct, via } = await both(p);
      assert.equal(via.status, direct.status, p);
      assert.ok(via.body.equals(direct.body), p);
      assert.equal(via.headers["content-type"], direct.headers["content-type"], p);
      assert.equal(via.headers.etag, direct.headers.etag, p);
    }
    const nf = await worker.request("/no/such/page", { cf: CF.DE });
    assert.equal(nf.status, 404);
    assert.equal(contextOf(nf).decisions.body, "passthrough: status");
  });

  test("POST /cart: 303 and its Location reach the client, not followed", async () => {
    const body = "code=85123A&qty=1";
    const res = await worker.request("/cart", {
      method: "POST",
      cf: CF.DE,
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) },
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, "/cart");
    assert.equal(res.body.length, 0);
  });

  test("If-None-Match with the shop's ETag: 304 passes through", async () => {
    const first = await request(demo.url, "/");
    assert.ok(first.headers.etag);
    const res = await worker.request("/", { cf: CF.DE, headers: { "if-none-match": first.headers.etag } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
  });

  test("HEAD / passes the shop's headers", async () => {
    const { direct, via } = await both("/", { method: "HEAD" });
    assert.equal(via.status, 200);
    assert.equal(via.body.length, 0);
    assert.equal(via.headers["content-length"], direct.headers["content-length"]);
  });
});
