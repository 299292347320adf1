// Shared helpers for the end-to-end suite: the built worker (dist/entry.js)
// in real workerd via Miniflare, a raw HTTP client (exact bytes and headers,
// no automatic decompression), cf presets and the preview report.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Miniflare } from "miniflare";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = path.join(ROOT, "dist");

// ---------- configs ----------

/** The config most tests run with: every rule kind, every template variable. */
export const TEST_CONFIG = {
  version: 1,
  bundle: "e2e-1",
  site: { default_locale: "en-GB", currency: "GBP" },
  exclude_paths: ["/cart"],
  rules: [
    {
      select: "html",
      set_attr: {
        "data-bl-country": "{country}",
        "data-bl-device": "{device}",
        "data-bl-daypart": "{daypart}",
        "data-bl-season": "{season}",
      },
    },
    { select: "[data-borderless-greeting]", set_text: "Good {daypart}!" },
    { select: "[data-jp-greeting]", set_text: "ようこそ {country}" },
    { select: "[data-de-greeting]", set_text: "Grüße, {country} & “Freunde” <3" },
    { select: ".price", set_attr: { "data-currency": "{currency}" } },
  ],
  limits: { rewriter_memory: 1048576 },
};

export const DEMO_CONFIG_PATH = path.join(ROOT, "demo", "config.json");

// ---------- cf presets (full objects: Miniflare merges its own Texas default under them) ----------

const cf = (o) => ({ asOrganization: "E2E", colo: "TST", httpProtocol: "HTTP/1.1", ...o });
export const CF = {
  DE: cf({
    country: "DE", region: "Berlin", regionCode: "BE", city: "Berlin", timezone: "Europe/Berlin",
    latitude: "52.52000", longitude: "13.40500", continent: "EU", isEUCountry: "1", postalCode: "10115",
  }),
  JP: cf({
    country: "JP", region: "Tokyo", regionCode: "13", city: "Tokyo", timezone: "Asia/Tokyo",
    latitude: "35.68950", longitude: "139.69171", continent: "AS", isEUCountry: false, postalCode: "100-0001",
  }),
  US: cf({
    country: "US", region: "New York", regionCode: "NY", city: "New York", timezone: "America/New_York",
    latitude: "40.71280", longitude: "-74.00600", continent: "NA", isEUCountry: false, postalCode: "10001",
  }),
  AU: cf({
    country: "AU", region: "New South Wales", regionCode: "NSW", city: "Sydney", timezone: "Australia/Sydney",
    latitude: "-33.86880", longitude: "151.20930", continent: "OC", isEUCountry: false, postalCode: "2000",
  }),
};

export const UA = {
  chrome:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  iphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  ipad:
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  androidChrome:
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  googlebot: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
};

// ---------- the worker ----------

/** Fails fast with a clear message when the bundle is missing or older than the Rust sources. */
let warned = false;
export function assertDistFresh() {
  const entry = path.join(DIST, "entry.js");
  if (!fs.existsSync(entry)) throw new Error("dist/entry.js is missing: run `make dist` first");
  const built = fs.statSync(entry).mtimeMs;
  const src = path.join(ROOT, "src");
  const newer = fs.readdirSync(src).filter((f) => fs.statSync(path.join(src, f)).mtimeMs > built);
  if (newer.length && !warned) warned = true, console.warn(`# warning: src/${newer.join(", src/")} newer than dist/entry.js; run \`make dist\``);
}

/**
 * Starts the built worker in workerd.
 *  - `config`: object (JSON-encoded), string (stored as is), or null (no `config` key at all)
 *  - `origin`: base URL bound as ORIGIN
 *  - `preview`: PREVIEW var ("on" by default); `token`: PREVIEW_TOKEN secret (plain binding)
 * Returns { mf, base, request, stream, logs, kv, close }.
 */
export async function startWorker({ config = TEST_CONFIG, origin, preview = "on", token, bindings = {} } = {}) {
  assertDistFresh();
  const logs = [];
  const collect = (stream) => {
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        logs.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  };
  const b = { PREVIEW: preview, ...bindings };
  if (origin) b.ORIGIN = origin;
  if (token !== undefined) b.PREVIEW_TOKEN = token;
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(DIST, "entry.js"),
    modulesRoot: DIST,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-09-01",
    kvNamespaces: ["BORDERLESS"],
    bindings: b,
    handleRuntimeStdio(stdout, stderr) {
      collect(stdout);
      collect(stderr);
    },
  });
  const base = await mf.ready;
  const kv = await mf.getKVNamespace("BORDERLESS");
  if (config !== null) await kv.put("config", typeof config === "string" ? config : JSON.stringify(config));
  return {
    mf,
    base,
    kv,
    logs,
    /** Log lines that are one JSON object each (the worker's structured logs). */
    jsonLogs: () =>
      logs.flatMap((l) => {
        const at = l.indexOf("{");
        if (at < 0) return [];
        try {
          return [JSON.parse(l.slice(at))];
        } catch {
          return [];
        }
      }),
    request: (p, opts) => request(base, p, opts),
    stream: (p, opts) => streamRequest(base, p, opts),
    close: () => mf.dispose(),
  };
}

// ---------- raw HTTP client ----------

function requestHeaders({ headers = {}, cf, ua = UA.chrome } = {}) {
  const h = { ...headers };
  const has = (n) => Object.keys(h).some((k) => k.toLowerCase() === n);
  if (ua !== null && !has("user-agent")) h["user-agent"] = ua;
  // workerd builds `request.cf` from this header on Miniflare's entry socket.
  // (\u-escaped: a header value must be ASCII; any JSON parser reads it back.)
  if (cf) h["MF-CF-Blob"] = JSON.stringify(cf).replace(/[\u0080-\uffff]/g, (u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return h;
}

/**
 * One request, raw: no decompression, no redirects followed, no default
 * Accept-Encoding. Resolves to { status, headers, rawHeaders, body: Buffer,
 * error } where `error` is set when the body was cut off.
 */
export function request(base, p, { method = "GET", body, ...opts } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(p, base),
      { method, headers: requestHeaders(opts), agent: false },
      (res) => {
        const chunks = [];
        let error = null;
        res.on("data", (c) => chunks.push(c));
        res.on("error", (e) => (error = e));
        res.on("aborted", () => (error ||= new Error("aborted")));
        res.on("close", () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
            complete: res.complete,
            error,
          }),
        );
      },
    );
    req.on("error", reject);
    req.setTimeout(60_000, () => req.destroy(new Error("client timeout")));
    req.end(body);
  });
}

/**
 * Like `request`, but records when each body chunk arrived
 * (performance.now(), same clock as the origin's) and can hash instead of keep.
 */
export function streamRequest(base, p, { onChunk, ...opts } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(p, base), { method: opts.method || "GET", headers: requestHeaders(opts), agent: false }, (res) => {
      const arrivals = [];
      let bytes = 0;
      let error = null;
      res.on("data", (c) => {
        arrivals.push({ at: performance.now(), bytes: c.length });
        bytes += c.length;
        onChunk?.(c);
      });
      res.on("error", (e) => (error = e));
      res.on("aborted", () => (error ||= new Error("aborted")));
      res.on("close", () => resolve({ status: res.statusCode, headers: res.headers, arrivals, bytes, complete: res.complete, error }));
    });
    req.on("error", reject);
    req.setTimeout(120_000, () => req.destroy(new Error("client timeout")));
    req.end();
  });
}

// ---------- preview report ----------

/** The parsed `x-borderless-context` header, or undefined when absent. */
export function contextOf(res) {
  const v = res.headers["x-borderless-context"];
  if (v === undefined) return undefined;
  if (!/^[\x20-\x7e]*$/.test(v)) throw new Error(`context header is not one line of printable ASCII: ${v}`);
  return JSON.parse(v);
}

// ---------- expected output ----------

/** The page the test config makes of `HTML_PAGE`-like UTF-8 input, for a given context. */
export function rewriteExpected(html, { country, device, daypart, season, currency = "GBP" }) {
  let s = html.toString("utf8");
  s = s.replace(
    /<html([^>]*)>/,
    `<html$1 data-bl-country="${country}" data-bl-daypart="${daypart}" data-bl-device="${device}" data-bl-season="${season}">`,
  );
  // Only real elements: the test pages keep the decoys in a comment and a script.
  s = s.replace(/(<(span|p)( data-borderless-greeting[^>]*)>)[^<]*(<\/\2>)/g, (m, open, _t, _a, close, offset, all) => {
    const before = all.slice(0, offset);
    const inComment = before.lastIndexOf("<!--") > before.lastIndexOf("-->");
    const inScript = before.lastIndexOf("<script") > before.lastIndexOf("</script>");
    return inComment || inScript ? m : `${open}Good ${daypart}!${close}`;
  });
  s = s.replace(/(<p class="price"[^>]*)>/g, `$1 data-currency="${currency}">`);
  return Buffer.from(s);
}

// ---------- legacy encodings ----------

let sjisTable;
/** Shift_JIS encoder built by inverting the platform's decoder (no deps). */
export function encodeShiftJis(str) {
  if (!sjisTable) {
    sjisTable = new Map();
    const dec = new TextDecoder("shift_jis");
    for (let lead = 0x81; lead <= 0xfc; lead++) {
      if (lead > 0x9f && lead < 0xe0) continue;
      for (let trail = 0x40; trail <= 0xfc; trail++) {
        if (trail === 0x7f) continue;
        const ch = dec.decode(Uint8Array.of(lead, trail));
        if (ch.length === 1 && ch !== "\ufffd" && !sjisTable.has(ch)) sjisTable.set(ch, [lead, trail]);
      }
    }
  }
  const out = [];
  for (const ch of str) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (sjisTable.has(ch)) out.push(...sjisTable.get(ch));
    else throw new Error(`not in Shift_JIS: ${ch}`);
  }
  return Buffer.from(out);
}

/** windows-1252 encoder for the characters the tests use. */
export function encodeWindows1252(str) {
  const special = { "€": 0x80, "“": 0x93, "”": 0x94, "–": 0x96, "—": 0x97 };
  return Buffer.from(
    [...str].map((ch) => {
      if (special[ch] !== undefined) return special[ch];
      const c = ch.codePointAt(0);
      if (c < 0x100 && !(c >= 0x80 && c < 0xa0)) return c;
      throw new Error(`not in windows-1252 here: ${ch}`);
    }),
  );
}

// ---------- processes ----------

/** PIDs of workerd processes started by this Node process (Linux /proc). */
export function childWorkerdPids() {
  const out = [];
  let entries;
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return out;
  }
  const mine = new Set([process.pid]);
  // Two passes catch a wrapper process between us and workerd.
  for (let pass = 0; pass < 2; pass++) {
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const status = fs.readFileSync(`/proc/${e}/status`, "utf8");
        const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
        if (mine.has(ppid)) mine.add(Number(e));
      } catch {
        /* gone */
      }
    }
  }
  for (const pid of mine) {
    if (pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd") out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** { rss, hwm } of a process in bytes (VmRSS, VmHWM), or null. */
export function memoryOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1]) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Resets VmHWM of a process to its current RSS (Linux: write 5 to clear_refs). */
export function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
