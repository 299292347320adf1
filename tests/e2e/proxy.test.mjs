// The proxy contract: what gets rewritten, and that everything else reaches
// the client exactly as the origin sent it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  startOrigin,
  HTML_PAGE,
  JSON_BODY,
  PNG_BYTES,
  SJIS_PAGE,
  UTF16_PAGE,
  ETAG,
  latin1Page,
} from "./origin.mjs";
import {
  startWorker,
  request,
  contextOf,
  rewriteExpected,
  encodeShiftJis,
  encodeWindows1252,
  CF,
} from "./harness.mjs";

let origin;
let worker;

// Pinned clock: 2026-12-24 19:30 in Berlin, an evening in winter.
const NOW = "2026-12-24T18:30:00Z";
const DE = { cf: CF.DE, headers: { "x-borderless-now": NOW } };
const EXPECT_DE = { country: "DE", device: "desktop", daypart: "evening", season: "winter" };

before(async () => {
  origin = await startOrigin();
  worker = await startWorker({ origin: origin.url });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

const HOP = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);

/** Asserts the worker's response equals the origin's own answer to the same request. */
async function assertPassthrough(p, opts = {}, { reason } = {}) {
  const direct = await request(origin.url, p, opts);
  const via = await worker.request(p, { ...opts, cf: opts.cf ?? CF.DE });
  assert.equal(via.error, null, `${p}: body cut off`);
  assert.equal(via.status, direct.status, `${p}: status`);
  assert.ok(via.body.equals(direct.body), `${p}: body differs (${via.body.length} vs ${direct.body.length} bytes)`);
  for (const [k, v] of Object.entries(direct.headers)) {
    if (HOP.has(k)) continue;
    assert.deepEqual(via.headers[k], v, `${p}: header ${k}`);
  }
  const extra = Object.keys(via.headers).filter(
    (k) => !HOP.has(k) && k !== "x-borderless-context" && !(k in direct.headers),
  );
  assert.deepEqual(extra, [], `${p}: headers the origin did not send`);
  if (reason) assert.equal(contextOf(via).decisions.body, `passthrough: ${reason}`, `${p}: reason`);
  return { direct, via };
}

describe("rewriting", () => {
  test("HTML page: attributes and text set from the config, the rest byte-identical", async () => {
    const res = await worker.request("/html", DE);
    assert.equal(res.status, 200);
    assert.equal(res.error, null);
    const want = rewriteExpected(HTML_PAGE, EXPECT_DE).toString("utf8");
    assert.equal((want.match(/Good evening!/g) || []).length, 2, "the expectation itself has both greetings");
    assert.equal(res.body.toString("utf8"), want);
    // Decoys in a comment and a script are not elements: untouched.
    assert.match(res.body.toString(), /<!-- a comment with <span data-borderless-greeting>inside<\/span> -->/);
    assert.match(res.body.toString(), /"<span data-borderless-greeting>in script<\/span>"/);
    assert.equal(contextOf(res).decisions.body, "rewrite");
  });

  test("rewritten response: the origin's Content-Length replaced by the body's own, Cache-Control made private, other headers kept", async () => {
    const res = await worker.request("/html", DE);
    // A small page the origin sent whole goes out whole (worker/entry.mjs).
    assert.equal(res.headers["content-length"], String(res.body.length));
    assert.notEqual(res.headers["content-length"], String(HTML_PAGE.length), "not the origin's");
    const streamed = await worker.request("/html?nolength=1", DE);
    assert.equal(streamed.headers["content-length"], undefined);
    assert.equal(streamed.headers["transfer-encoding"], "chunked");
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    // The body now depends on the visitor: shared caches must not keep it.
    assert.equal(res.headers["cache-control"], "private, max-age=60");
    assert.equal(res.headers["x-origin"], "test");
  });

  test("the ETag of a rewritten body is weak and names the variant", async () => {
    const res = await worker.request("/etag", DE);
    assert.equal(res.status, 200);
    assert.match(res.headers.etag, new RegExp(`^W/"bl\\.[0-9a-f]{16}\\.${ETAG.slice(1, -1)}"$`));
    assert.equal(res.headers["cache-control"], "private, max-age=0, must-revalidate");
    assert.equal(res.headers["content-length"], String(res.body.length), "the body's own length");
    assert.ok(res.body.equals(rewriteExpected(HTML_PAGE, EXPECT_DE)));
  });

  test("203 is rewritten like 200 (and gets Cache-Control: private though the origin sent none)", async () => {
    const res = await worker.request("/status?code=203", DE);
    assert.equal(res.status, 203);
    assert.equal(res.headers["cache-control"], "private");
    assert.ok(res.body.equals(rewriteExpected(HTML_PAGE, EXPECT_DE)));
  });

  test("several Set-Cookie headers survive a rewrite, in order, with the other headers", async () => {
    const direct = await request(origin.url, "/headers");
    const res = await worker.request("/headers", DE);
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers["set-cookie"], [
      "session=abc123; Path=/; HttpOnly; Secure; SameSite=Lax",
      "cart=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      "pref=de-DE, en; Path=/; Max-Age=3600",
    ]);
    assert.equal(res.headers["cache-control"], "private, max-age=120, stale-while-revalidate=30");
    for (const h of ["x-shop-trace", "x-frame-options", "content-security-policy", "link", "content-type"]) {
      assert.equal(res.headers[h], direct.headers[h], h);
    }
    // The page now varies with the visitor's cookies and languages, and
    // Last-Modified cannot tell its variants apart.
    const vary = (direct.headers.vary || "").split(",").map((v) => v.trim()).filter(Boolean);
    for (const x of ["Cookie", "Accept-Language"]) if (!vary.some((v) => v.toLowerCase() === x.toLowerCase())) vary.push(x);
    assert.equal(res.headers.vary, vary.join(", "));
    assert.ok(direct.headers["last-modified"]);
    assert.equal(res.headers["last-modified"], undefined);
    assert.equal(res.headers["content-length"], String(res.body.length), "the body's own length");
    assert.ok(direct.headers["content-length"]);
    assert.ok(res.body.equals(rewriteExpected(HTML_PAGE, EXPECT_DE)));
  });

  test("query string and path reach the origin; host is the origin's", async () => {
    const res = await worker.request("/echo-headers?q=caf%C3%A9&x=1&x=2", DE);
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.url, "/echo-headers?q=caf%C3%A9&x=1&x=2");
    assert.equal(seen.headers.host, `127.0.0.1:${origin.port}`);
  });
});

describe("passthrough, byte-identical with headers", () => {
  test("JSON keeps its bytes, Content-Length and ETag", async () => {
    const { via } = await assertPassthrough("/json", {}, { reason: "not_html" });
    assert.ok(via.body.equals(JSON_BODY));
    assert.equal(via.headers["content-length"], String(JSON_BODY.length));
    assert.equal(via.headers.etag, '"json-1"');
  });

  test("binary image", async () => {
    const { via } = await assertPassthrough("/image.png", {}, { reason: "not_html" });
    assert.ok(via.body.equals(PNG_BYTES));
    assert.equal(via.headers["content-length"], String(PNG_BYTES.length));
  });

  test("HTML bytes without a Content-Type", async () => {
    await assertPassthrough("/notype", {}, { reason: "not_html" });
  });

  test("Cache-Control: no-transform", async () => {
    const { via } = await assertPassthrough("/notransform", {}, { reason: "no_transform" });
    assert.ok(via.body.equals(HTML_PAGE));
  });

  test("excluded path and paths below it", async () => {
    for (const p of ["/cart", "/cart/checkout"]) {
      const { via } = await assertPassthrough(p, {}, { reason: "excluded_path" });
      assert.ok(via.body.equals(HTML_PAGE), p);
    }
  });

  test("500 with an HTML body", async () => {
    const { via } = await assertPassthrough("/error500", {}, { reason: "status" });
    assert.equal(via.status, 500);
    assert.equal(via.headers["retry-after"], "30");
    assert.ok(via.body.equals(HTML_PAGE));
  });

  test("404 with an HTML body", async () => {
    const { via } = await assertPassthrough("/status?code=404", {}, { reason: "status" });
    assert.equal(via.status, 404);
  });

  test("302 is not followed: status, Location and both cookies reach the client", async () => {
    const before = origin.seenFor("/html").length;
    const { via } = await assertPassthrough("/redirect", {}, { reason: "status" });
    assert.equal(via.status, 302);
    assert.equal(via.headers.location, "/html?from=redirect");
    assert.deepEqual(via.headers["set-cookie"], ["redirected=1; Path=/", "second=2; Path=/; HttpOnly"]);
    assert.equal(origin.seenFor("/html").length, before, "the worker must not fetch the redirect target");
  });

  test("304 for a matching If-None-Match, strong ETag unchanged", async () => {
    const { via } = await assertPassthrough("/etag", { headers: { "if-none-match": ETAG } }, { reason: "status" });
    assert.equal(via.status, 304);
    assert.equal(via.body.length, 0);
    assert.equal(via.headers.etag, ETAG);
    assert.equal(origin.seenFor("/etag").at(-1).headers["if-none-match"], ETAG);
  });

  test("206 for a Range request", async () => {
    const { via } = await assertPassthrough("/range", { headers: { range: "bytes=10-99" } }, { reason: "status" });
    assert.equal(via.status, 206);
    assert.equal(via.headers["content-range"], `bytes 10-99/${HTML_PAGE.length}`);
    assert.ok(via.body.equals(HTML_PAGE.subarray(10, 100)));
    assert.equal(via.headers.etag, ETAG, "a partial response keeps its strong ETag");
  });

  test("unknown Content-Encoding passes encoded and untouched", async () => {
    const { via } = await assertPassthrough("/deflate-raw", {}, { reason: "content_encoding" });
    assert.ok(zlib.inflateSync(via.body).equals(HTML_PAGE));
  });

  test("Set-Cookie headers on a passthrough response", async () => {
    const { via } = await assertPassthrough("/headers?type=json", {}, { reason: "not_html" });
    assert.equal(via.headers["set-cookie"].length, 3);
  });

  test("HEAD: the headers GET of the same URL gets (issue 15), no body", async () => {
    const get = await worker.request("/etag", DE);
    const head = await worker.request("/etag", { ...DE, method: "HEAD" });
    assert.equal(origin.seen.at(-1).method, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const h of ["cache-control", "etag", "vary", "last-modified"]) assert.equal(head.headers[h], get.headers[h], h);
    assert.match(head.headers["cache-control"], /^private/);
    assert.match(head.headers.etag, /^W\/"bl\./);
  });

  test("POST is forwarded with its body and answered untouched", async () => {
    const body = Buffer.concat([Buffer.from("a=1&b=Gr%C3%BC%C3%9Fe&bin="), Buffer.from([0, 1, 2, 0xff, 0xfe])]);
    const headers = { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) };
    const { via } = await assertPassthrough("/post", { method: "POST", body, headers });
    const got = origin.seenFor("/post");
    assert.equal(got.length, 2, "once direct, once through the worker");
    assert.equal(got[1].method, "POST");
    assert.ok(got[1].body.equals(body), "the origin received the exact body");
    assert.equal(got[1].headers["content-type"], "application/x-www-form-urlencoded");
    assert.match(via.body.toString(), /<p data-borderless-greeting>posted<\/p>/, "POST answers are never rewritten");
  });
});

describe("content encodings", () => {
  const expected = () => rewriteExpected(HTML_PAGE, EXPECT_DE);

  test("gzip from the origin is decoded, rewritten, and re-compressed for a client that asks", async () => {
    const res = await worker.request("/gzip", { ...DE, headers: { ...DE.headers, "accept-encoding": "gzip" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.equal(res.headers["content-length"], undefined);
    assert.equal(res.headers.vary, "Accept-Encoding, Cookie, Accept-Language");
    const plain = zlib.gunzipSync(res.body);
    assert.equal(plain.toString(), expected().toString());
    assert.equal(contextOf(res).decisions.body, "rewrite");
  });

  test("brotli from the origin is decoded and rewritten", async () => {
    const res = await worker.request("/br", { ...DE, headers: { ...DE.headers, "accept-encoding": "br" } });
    assert.equal(res.status, 200);
    assert.equal(contextOf(res).decisions.body, "rewrite");
    const enc = res.headers["content-encoding"];
    const plain = enc === "br" ? zlib.brotliDecompressSync(res.body) : enc === "gzip" ? zlib.gunzipSync(res.body) : res.body;
    assert.equal(plain.toString(), expected().toString());
  });

  test("gzip from the origin, read by a decoding client (fetch)", async () => {
    const res = await worker.mf.dispatchFetch("http://shop.test/gzip", {
      cf: CF.DE,
      headers: { "x-borderless-now": NOW, "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" },
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), expected().toString());
  });

  test("plain origin, client asks for gzip: the compressed body decodes to the rewritten page", async () => {
    const res = await worker.request("/html", { ...DE, headers: { ...DE.headers, "accept-encoding": "gzip" } });
    const body = res.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(res.body) : res.body;
    assert.equal(body.toString(), expected().toString());
  });
});

describe("character sets", () => {
  test("Shift_JIS (header charset): rewritten, new text encoded in Shift_JIS, other bytes untouched", async () => {
    const text = new TextDecoder("shift_jis").decode(SJIS_PAGE);
    assert.ok(encodeShiftJis(text).equals(SJIS_PAGE), "test encoder round-trips the page");
    assert.match(text, /<p data-borderless-greeting>こんにちは<\/p>/);
    const want = encodeShiftJis(
      text
        .replace('<html lang="ja">', '<html lang="ja" data-bl-country="DE" data-bl-daypart="evening" data-bl-device="desktop" data-bl-season="winter">')
        .replace("<p data-borderless-greeting>こんにちは</p>", "<p data-borderless-greeting>Good evening!</p>")
        .replace('<p data-jp-greeting title="x">こんにちは</p>', '<p data-jp-greeting title="x">ようこそ DE</p>')
        .replace("<p class=price>", '<p class=price data-currency="GBP">'),
    );
    const res = await worker.request("/sjis", DE);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/html; charset=Shift_JIS");
    assert.equal(contextOf(res).decisions.body, "rewrite");
    assert.ok(res.body.includes(encodeShiftJis("ようこそ DE")), "greeting encoded in Shift_JIS");
    assert.ok(!res.body.includes(Buffer.from("ようこそ")), "no UTF-8 leaked into a Shift_JIS page");
    assert.equal(res.body.toString("hex"), want.toString("hex"));
  });

  test("windows-1252 declared only in <meta>: rewritten in windows-1252", async () => {
    const page = latin1Page();
    const text = new TextDecoder("windows-1252").decode(page);
    assert.ok(encodeWindows1252(text).equals(page), "test encoder round-trips the page");
    const want = encodeWindows1252(
      text
        .replace('<html lang="de">', '<html lang="de" data-bl-country="DE" data-bl-daypart="evening" data-bl-device="desktop" data-bl-season="winter">')
        .replace("<p data-borderless-greeting>Grüße</p>", "<p data-borderless-greeting>Good evening!</p>")
        .replace("<p data-de-greeting>x</p>", "<p data-de-greeting>Grüße, DE &amp; “Freunde” &lt;3</p>"),
    );
    const res = await worker.request("/latin1", DE);
    assert.equal(res.status, 200);
    assert.ok(res.body.includes(Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65])), "Grüße as windows-1252 bytes");
    assert.equal(res.body.toString("hex"), want.toString("hex"));
  });

  test("windows-1252 with no declaration at all is guessed from invalid UTF-8", async () => {
    const page = latin1Page({ meta: false });
    const text = new TextDecoder("windows-1252").decode(page);
    const want = encodeWindows1252(
      text
        .replace('<html lang="de">', '<html lang="de" data-bl-country="DE" data-bl-daypart="evening" data-bl-device="desktop" data-bl-season="winter">')
        .replace("<p data-borderless-greeting>Grüße</p>", "<p data-borderless-greeting>Good evening!</p>")
        .replace("<p data-de-greeting>x</p>", "<p data-de-greeting>Grüße, DE &amp; “Freunde” &lt;3</p>"),
    );
    const res = await worker.request("/latin1?meta=0", DE);
    assert.equal(res.body.toString("hex"), want.toString("hex"));
  });

  test("UTF-16LE with a BOM passes byte-identical", async () => {
    const res = await worker.request("/utf16", DE);
    assert.equal(res.status, 200);
    assert.equal(res.error, null);
    assert.ok(res.body.equals(UTF16_PAGE), "UTF-16 page must not be touched");
  });

  test("UTF-16 declared in the header passes byte-identical with its headers", async () => {
    const { via } = await assertPassthrough("/utf16?declared=1", {}, { reason: "charset" });
    assert.ok(via.body.equals(UTF16_PAGE));
  });
});
