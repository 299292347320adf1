// A hostile test origin for the end-to-end suite: plain node:http, no deps.
//
// `startOrigin()` listens on a free port and resolves to
// `{ url, port, close(), seen, dribbles, pages }`:
//   seen      every request received: { method, url, headers, rawHeaders, body }
//   dribbles  per `/dribble?id=...`: { firstWriteAt, lastWriteAt } (performance.now())
//   pages     the exact bytes of the fixed pages, to compare with what the worker returns
import http from "node:http";
import zlib from "node:zlib";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

export const STORE_DIR = fileURLToPath(new URL("../../../shared/data/storefront-pages/", import.meta.url));

/** Names (without `.html.gz`) of every storefront page. */
export function storefrontNames() {
  return fs
    .readdirSync(STORE_DIR)
    .filter((f) => f.endsWith(".html.gz"))
    .map((f) => f.slice(0, -".html.gz".length))
    .sort();
}

/** The decompressed bytes of one storefront page. */
export function storefrontPage(name) {
  return zlib.gunzipSync(fs.readFileSync(path.join(STORE_DIR, `${name}.html.gz`)));
}

const UTF8 = "text/html; charset=utf-8";

// ---------- fixed pages ----------

export const HTML_PAGE = Buffer.from(
  `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Test shop</title></head>
<body>
<header><span data-borderless-greeting>Welcome</span></header>
<main><h1>Grüße aus Köln — 日本語 £5 €7 😀</h1>
<p class="price" data-price="19.99">£19.99</p>
<p data-borderless-greeting class="second">Hello again</p>
<!-- a comment with <span data-borderless-greeting>inside</span> -->
<script>var s = "<span data-borderless-greeting>in script</span>";</script>
</main>
</body>
</html>
`,
);

// Shift_JIS bytes, written out by hand (verified by the tests with TextDecoder).
// こんにちは = 82B1 82F1 82C9 82BF 82CD; 価格 = 89BF 8A69; 円 = 8987
const SJIS_HELLO = Buffer.from([0x82, 0xb1, 0x82, 0xf1, 0x82, 0xc9, 0x82, 0xbf, 0x82, 0xcd]);
const SJIS_PRICE = Buffer.from([0x89, 0xbf, 0x8a, 0x69]);
const SJIS_YEN = Buffer.from([0x89, 0x87]);
export const SJIS_PAGE = Buffer.concat([
  Buffer.from('<!DOCTYPE html>\n<html lang="ja">\n<head><meta charset="Shift_JIS"><title>'),
  SJIS_PRICE,
  Buffer.from("</title></head>\n<body>\n<p data-borderless-greeting>"),
  SJIS_HELLO,
  Buffer.from('</p>\n<p data-jp-greeting title="x">'),
  SJIS_HELLO,
  Buffer.from("</p>\n<p class=price>"),
  SJIS_PRICE,
  Buffer.from(": 1,980"),
  SJIS_YEN,
  // 0x5C as a trail byte (ソ = 83 5C) is the classic Shift_JIS trap for byte-naive tools.
  Buffer.from("</p>\n<p>"),
  Buffer.from([0x83, 0x5c, 0x83, 0x74, 0x83, 0x67]), // ソフト
  Buffer.from("</p>\n</body>\n</html>\n"),
]);

// windows-1252, charset only in <meta>: é=E9, ü=FC, ß=DF, €=80, “ ”=93 94
export function latin1Page({ meta = true } = {}) {
  return Buffer.concat([
    Buffer.from("<!DOCTYPE html>\n<html lang=\"de\">\n<head>"),
    Buffer.from(meta ? '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">' : ""),
    Buffer.from("<title>Caf"),
    Buffer.from([0xe9]),
    Buffer.from("</title></head>\n<body>\n<p data-borderless-greeting>Gr"),
    Buffer.from([0xfc, 0xdf]),
    Buffer.from("e</p>\n<p data-de-greeting>x</p>\n<p>Preis: 5 "),
    Buffer.from([0x80, 0x20, 0x93]),
    Buffer.from("billig"),
    Buffer.from([0x94]),
    Buffer.from("</p>\n</body>\n</html>\n"),
  ]);
}

export const UTF16_PAGE = Buffer.concat([
  Buffer.from([0xff, 0xfe]),
  Buffer.from(
    '<!DOCTYPE html><html><head><title>UTF-16</title></head><body><p data-borderless-greeting>Hallo Welt — 日本</p></body></html>\n',
    "utf16le",
  ),
]);

export const PNG_BYTES = (() => {
  // A valid 1x1 PNG header followed by deterministic pseudo-random bytes,
  // including bytes that are invalid UTF-8 and look like markup.
  const head = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");
  const tail = Buffer.alloc(4096);
  let x = 0x12345678;
  for (let i = 0; i < tail.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    tail[i] = x & 0xff;
  }
  return Buffer.concat([head, tail, Buffer.from("<html><p data-borderless-greeting>no</p>")]);
})();

export const JSON_BODY = Buffer.from(
  JSON.stringify({ html: "<p data-borderless-greeting>not html</p>", price: 19.99, name: "Grüße" }),
);

/**
 * The localization test page (`/l10n`, `/l10n/...`, `/search`): UI strings
 * (`data-i18n`, `data-i18n-attr`, including keys a dictionary may fill with
 * markup), prices in every form the worker reads (microdata scope, data-price
 * with and without a currency, another currency's scope, machine-readable
 * copies, JSON-LD), links of every kind, a form and the switcher slot.
 * Options: `canonical` (the page names its own canonical URL), `dir`
 * (`<html dir>` as the origin sends it).
 */
export function l10nPage({ canonical = false, dir = "" } = {}) {
  return Buffer.from(`<!DOCTYPE html>
<html lang="en-GB"${dir ? ` dir="${dir}"` : ""}>
<head>
<meta charset="utf-8">
<title data-i18n="page.title">Test shop</title>
<meta name="description" content="A test shop." data-i18n-attr="content:page.description">
<meta http-equiv="refresh" content="600" data-i18n-attr="content:page.description">
${canonical ? '<link rel="canonical" href="https://shop.example/own">\n' : ""}<script type="application/ld+json">{"@type":"Offer","price":"2.55","priceCurrency":"GBP"}</script>
</head>
<body>
<nav><a id="home" href="/l10n" data-i18n="nav.home">Home</a>
<a id="basket" href="/cart" data-i18n="nav.basket">Basket</a>
<a id="cdn" href="//cdn.example/x.css">cdn</a>
<a id="ext" href="https://other.example/">other</a>
<a id="rel" href="relative/page">relative</a>
<a id="frag" href="#top">top</a>
<a id="sw" href="/__borderless/switch?locale=de-DE">switch</a></nav>
<form id="search" action="/search"><input id="q" name="q" placeholder="Search" title="Search the shop" data-i18n-attr="placeholder:search.placeholder, title:search.title, onclick:xss, href:xss, style:xss"></form>
<div id="slot" data-borderless-slot="switcher">origin placeholder</div>
<p id="greeting" data-i18n="greeting">Welcome</p>
<p id="xss" data-i18n="xss">harmless</p>
<p id="missing" data-i18n="no.such.key">Kept</p>
<div itemscope itemtype="https://schema.org/Product"><div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="priceCurrency" content="GBP"><span id="p1" itemprop="price" content="2.55">£2.55</span></div></div>
<span id="p2" data-price="10.00" data-currency="GBP">£10.00</span>
<span id="p3" data-price="1234.50">£1,234.50</span>
<div itemscope><meta itemprop="priceCurrency" content="USD"><span id="p4" itemprop="price" content="3.00">$3.00</span></div>
<span id="p5" data-price="0.42">£0.42</span>
<meta id="p6" itemprop="price" content="2.55">
</body>
</html>
`);
}

export const ETAG = '"v1-8f14e45fceea167a"';

/** A page with a start tag carrying a `size`-byte attribute between two greetings. */
export function hugetagPage(size = 2 << 20) {
  const head = '<!DOCTYPE html>\n<html>\n<body>\n<p data-borderless-greeting>before</p>\n';
  const tag = `<div title="${"x".repeat(size)}">`;
  const tail = "tail</div>\n<p data-borderless-greeting>after</p>\n</body>\n</html>\n";
  return { head, tag, tail, bytes: Buffer.from(head + tag + tail) };
}

// ---------- streamed pages ----------

/** The pieces of `/big`: header, a repeated row (one greeting each), footer. */
export function bigPageParts(mb = 10) {
  const header = '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Big</title></head>\n<body>\n';
  const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit — “ü” ".repeat(12);
  const row = (i) =>
    `<div class="row" id="r${String(i).padStart(6, "0")}"><p data-borderless-greeting>Hi</p><p>${filler}</p></div>\n`;
  const rowBytes = Buffer.byteLength(row(0));
  const footer = "</body>\n</html>\n";
  const rows = Math.ceil((mb * 1024 * 1024 - header.length - footer.length) / rowBytes);
  return { header, row, rows, footer, totalBytes: header.length + rows * rowBytes + footer.length };
}

/** The `/dribble` page split into `chunks` pieces; the first is over 1 KiB (the charset prescan). */
export function dribbleChunks(chunks) {
  const first = `<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>Dribble</title>\n<!-- ${"p".repeat(2048)} -->\n</head>\n<body>\n<p data-borderless-greeting>first</p>\n`;
  const out = [first];
  for (let i = 1; i < chunks - 1; i++) out.push(`<p>chunk ${i}</p>\n`);
  out.push("<p data-borderless-greeting>last</p>\n</body>\n</html>\n");
  return out.map((s) => Buffer.from(s));
}

export async function startOrigin() {
  const seen = [];
  const dribbles = new Map();
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders], body });
      try {
        route(req, res, body, dribbles);
      } catch (err) {
        if (!res.headersSent) res.writeHead(599, { "content-type": "text/plain" });
        res.end(`origin bug: ${err.stack}`);
      }
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    dribbles,
    /** Requests seen for a path (query ignored). */
    seenFor: (p) => seen.filter((r) => new URL(r.url, "http://x").pathname === p),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res, status, headers, body) {
  res.writeHead(status, { "content-length": body.length, ...headers });
  res.end(body);
}

function route(req, res, body, dribbles) {
  const url = new URL(req.url, "http://origin.invalid");
  const q = url.searchParams;
  const p = url.pathname;

  if (p === "/echo-headers") {
    const out = Buffer.from(
      JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString("utf8") }),
    );
    return send(res, 200, { "content-type": "application/json" }, out);
  }
  if (p === "/html" && q.has("nolength")) {
    // The same page without a Content-Length (chunked).
    res.writeHead(200, { "content-type": UTF8, "cache-control": "public, max-age=60" });
    res.write(HTML_PAGE.subarray(0, 100));
    return res.end(HTML_PAGE.subarray(100));
  }
  if (p === "/html" && q.has("late")) {
    // The page, its head sent `late` ms after the request.
    setTimeout(() => send(res, 200, { "content-type": UTF8, "cache-control": "public, max-age=60" }, HTML_PAGE), Number(q.get("late")));
    return;
  }
  if (p === "/html" && q.has("split")) {
    // Its length declared, but the bytes in two writes `split` ms apart.
    res.writeHead(200, { "content-type": UTF8, "cache-control": "public, max-age=60", "content-length": HTML_PAGE.length });
    res.flushHeaders();
    res.write(HTML_PAGE.subarray(0, 100));
    setTimeout(() => res.end(HTML_PAGE.subarray(100)), Number(q.get("split")));
    return;
  }
  if (p === "/html" || p === "/cart" || p === "/cart/checkout" || p === "/cartoon") {
    return send(
      res,
      200,
      { "content-type": UTF8, "cache-control": "public, max-age=60", "x-origin": "test" },
      HTML_PAGE,
    );
  }
  if (p === "/l10n" || p.startsWith("/l10n/") || p === "/search") {
    // `?cc=` sets Cache-Control (`none`: no header).
    const cc = q.get("cc") ?? "public, max-age=60";
    const headers = { "content-type": UTF8, ...(cc === "none" ? {} : { "cache-control": cc }) };
    return send(res, 200, headers, l10nPage({ canonical: q.has("canonical"), dir: q.get("dir") || "" }));
  }
  if (p === "/status") {
    // An HTML page with any status (404, 410, 203 ...).
    const status = Number(q.get("code") || 200);
    return send(res, status, { "content-type": UTF8 }, HTML_PAGE);
  }
  if (p === "/empty") {
    // 200 text/html with an empty body (Content-Length: 0).
    return send(res, 200, { "content-type": UTF8, etag: ETAG }, Buffer.alloc(0));
  }
  if (p === "/nocontent") {
    res.writeHead(204, { "content-type": UTF8 });
    return res.end();
  }
  if (p === "/error500") {
    return send(res, 500, { "content-type": UTF8, "retry-after": "30" }, HTML_PAGE);
  }
  if (p === "/redirect") {
    res.setHeader("set-cookie", ["redirected=1; Path=/", "second=2; Path=/; HttpOnly"]);
    return send(
      res,
      302,
      { location: "/html?from=redirect", "content-type": UTF8 },
      Buffer.from('<html><body><p data-borderless-greeting>Moved</p> <a href="/html">here</a></body></html>'),
    );
  }
  if (p === "/json") {
    return send(res, 200, { "content-type": "application/json; charset=utf-8", etag: '"json-1"' }, JSON_BODY);
  }
  if (p === "/image.png") {
    return send(res, 200, { "content-type": "image/png", "cache-control": "public, max-age=31536000, immutable" }, PNG_BYTES);
  }
  if (p === "/notype") {
    // HTML bytes without any Content-Type: not rewritten.
    res.writeHead(200, { "content-length": HTML_PAGE.length });
    return res.end(HTML_PAGE);
  }
  if (p === "/gzip") {
    const gz = zlib.gzipSync(HTML_PAGE);
    return send(res, 200, { "content-type": UTF8, "content-encoding": "gzip", vary: "Accept-Encoding" }, gz);
  }
  if (p === "/br") {
    const br = zlib.brotliCompressSync(HTML_PAGE);
    return send(res, 200, { "content-type": UTF8, "content-encoding": "br", vary: "Accept-Encoding" }, br);
  }
  if (p === "/deflate-raw") {
    // An encoding the runtime does not decode for us: must pass untouched.
    const z = zlib.deflateSync(HTML_PAGE);
    return send(res, 200, { "content-type": UTF8, "content-encoding": "x-custom" }, z);
  }
  if (p === "/big") {
    const mb = Number(q.get("mb") || 10);
    const { header, row, rows, footer } = bigPageParts(mb);
    res.writeHead(200, { "content-type": UTF8 });
    let i = 0;
    res.write(header);
    const pump = () => {
      while (i < rows) {
        let block = "";
        for (let k = 0; k < 64 && i < rows; k++, i++) block += row(i);
        if (!res.write(block)) return res.once("drain", pump);
      }
      res.end(footer);
    };
    return pump();
  }
  if (p === "/dribble") {
    const n = Math.max(2, Number(q.get("chunks") || 5));
    const delay = Number(q.get("delay") || 100);
    const id = q.get("id") || "default";
    const parts = dribbleChunks(n);
    const rec = { firstWriteAt: 0, lastWriteAt: 0, done: false };
    dribbles.set(id, rec);
    res.writeHead(200, { "content-type": UTF8 });
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      const chunk = parts[i++];
      if (i === 1) rec.firstWriteAt = performance.now();
      if (i === parts.length) {
        rec.lastWriteAt = performance.now();
        rec.done = true;
        res.end(chunk);
      } else {
        res.write(chunk);
        setTimeout(next, delay);
      }
    };
    return next();
  }
  if (p === "/sjis") {
    return send(res, 200, { "content-type": "text/html; charset=Shift_JIS" }, SJIS_PAGE);
  }
  if (p === "/latin1") {
    return send(res, 200, { "content-type": "text/html" }, latin1Page({ meta: q.get("meta") !== "0" }));
  }
  if (p === "/utf16") {
    // BOM only, or a declared charset too.
    const type = q.get("declared") ? "text/html; charset=utf-16le" : "text/html";
    return send(res, 200, { "content-type": type }, UTF16_PAGE);
  }
  if (p === "/range") {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || "");
    const headers = { "content-type": UTF8, "accept-ranges": "bytes", etag: ETAG };
    if (!m) return send(res, 200, headers, HTML_PAGE);
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), HTML_PAGE.length - 1) : HTML_PAGE.length - 1;
    if (start > end) {
      return send(res, 416, { "content-range": `bytes */${HTML_PAGE.length}` }, Buffer.alloc(0));
    }
    const part = HTML_PAGE.subarray(start, end + 1);
    return send(res, 206, { ...headers, "content-range": `bytes ${start}-${end}/${HTML_PAGE.length}` }, part);
  }
  if (p === "/etag") {
    const headers = { "content-type": UTF8, etag: ETAG, "cache-control": "private, max-age=0, must-revalidate" };
    const inm = req.headers["if-none-match"];
    if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === ETAG)) {
      res.writeHead(304, { etag: ETAG, "cache-control": headers["cache-control"] });
      return res.end();
    }
    return send(res, 200, headers, HTML_PAGE);
  }
  if (p === "/headers") {
    res.setHeader("set-cookie", [
      "session=abc123; Path=/; HttpOnly; Secure; SameSite=Lax",
      "cart=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      "pref=de-DE, en; Path=/; Max-Age=3600",
    ]);
    const type = q.get("type") === "json" ? "application/json" : UTF8;
    return send(
      res,
      200,
      {
        "content-type": type,
        "cache-control": "private, max-age=120, stale-while-revalidate=30",
        "x-shop-trace": "trace-42",
        "x-frame-options": "DENY",
        "content-security-policy": "default-src 'self'",
        link: '</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script',
        vary: "Accept-Language, Cookie",
        "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT",
      },
      type === UTF8 ? HTML_PAGE : JSON_BODY,
    );
  }
  if (p === "/notransform") {
    return send(res, 200, { "content-type": UTF8, "cache-control": "public, no-transform, max-age=60" }, HTML_PAGE);
  }
  if (p === "/hugetag") {
    const size = Number(q.get("size") || 2 << 20);
    const { bytes } = hugetagPage(size);
    res.writeHead(200, { "content-type": UTF8 });
    // Stream it in 64 KiB pieces, like a real origin would.
    for (let i = 0; i < bytes.length; i += 65536) res.write(bytes.subarray(i, i + 65536));
    return res.end();
  }
  if (p === "/reset") {
    // Headers and part of the body, then the connection dies: no terminating chunk.
    const type = q.get("type") === "json" ? "application/json" : UTF8;
    res.writeHead(200, { "content-type": type });
    const part =
      type === UTF8
        ? `<!DOCTYPE html>\n<html><body>\n<p data-borderless-greeting>x</p>\n${"<p>row</p>\n".repeat(800)}`
        : `{"items":[${'"item",'.repeat(2000)}`;
    res.write(part);
    setTimeout(() => res.socket && res.socket.destroy(), 50);
    return;
  }
  if (p.startsWith("/store/")) {
    const name = p.slice("/store/".length);
    if (!/^[0-9a-f]{64}$/.test(name)) return send(res, 404, { "content-type": "text/plain" }, Buffer.from("no"));
    const page = storefrontPage(name);
    // Every page of the benchmark is UTF-8 (checked by the storefront test);
    // `?charset=0` sends no charset at all, so the worker must sniff.
    const type = q.get("charset") === "0" ? "text/html" : UTF8;
    return send(res, 200, { "content-type": type }, page);
  }
  if (p === "/post") {
    // Answers POST with an HTML page naming what it received.
    const out = Buffer.from(
      `<html><body><p data-borderless-greeting>posted</p><pre>${req.method} ${body.length} ${body.toString("hex").slice(0, 64)}</pre></body></html>`,
    );
    return send(res, 200, { "content-type": UTF8 }, out);
  }
  return send(res, 404, { "content-type": "text/plain" }, Buffer.from(`no route ${p}\n`));
}

// `node tests/e2e/origin.mjs` serves it on its own, for poking at by hand.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const o = await startOrigin();
  console.log(`test origin listening on ${o.url}`);
}
