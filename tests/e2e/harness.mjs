// Shared helpers for the end-to-end suite: the built worker (dist/entry.js)
// in real workerd via Miniflare, a raw HTTP client (exact bytes and headers,
// no automatic decompression), cf presets and the preview report.
import http from "node:http";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Miniflare } from "miniflare";
import { moneyFormats } from "../../scripts/money-formats.mjs";

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
/** The demo's real KV bundle (`make demo-bundle`, a `wrangler kv bulk put` file). */
export const DEMO_BUNDLE_PATH = path.join(ROOT, "target", "kv", "bundle.json");

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
  SA: cf({
    country: "SA", region: "Riyadh Region", regionCode: "01", city: "Riyadh", timezone: "Asia/Riyadh",
    latitude: "24.71360", longitude: "46.67530", continent: "AS", isEUCountry: false, postalCode: "11564",
  }),
  CH: cf({
    country: "CH", region: "Zurich", regionCode: "ZH", city: "Zurich", timezone: "Europe/Zurich",
    latitude: "47.37690", longitude: "8.54170", continent: "EU", isEUCountry: false, postalCode: "8001",
  }),
  AT: cf({
    country: "AT", region: "Vienna", regionCode: "9", city: "Vienna", timezone: "Europe/Vienna",
    latitude: "48.20820", longitude: "16.37380", continent: "EU", isEUCountry: "1", postalCode: "1010",
  }),
  FR: cf({
    country: "FR", region: "Île-de-France", regionCode: "IDF", city: "Paris", timezone: "Europe/Paris",
    latitude: "48.85660", longitude: "2.35220", continent: "EU", isEUCountry: "1", postalCode: "75001",
  }),
  GB: cf({
    country: "GB", region: "England", regionCode: "ENG", city: "London", timezone: "Europe/London",
    latitude: "51.50740", longitude: "-0.12780", continent: "EU", isEUCountry: false, postalCode: "EC1A",
  }),
  BR: cf({
    country: "BR", region: "São Paulo", regionCode: "SP", city: "São Paulo", timezone: "America/Sao_Paulo",
    latitude: "-23.55050", longitude: "-46.63330", continent: "SA", isEUCountry: false, postalCode: "01000-000",
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
 *  - `config`: object (JSON-encoded), string (stored as is), or null (no `config` key at all);
 *    defaults to TEST_CONFIG, or to the bundle's own `config` when `bundle` is given
 *  - `bundle`: path of a `wrangler kv bulk put` JSON file, or its entries ([{key, value}]):
 *    every value is put first, the `config` pointer last (as `borderless publish` does)
 *  - `origin`: base URL bound as ORIGIN
 *  - `preview`: PREVIEW var ("on" by default); `token`: PREVIEW_TOKEN secret (plain binding)
 *  - `script`: another module worker to run instead (e.g. the benchmark's reference JS worker)
 *  - `miniflare`: more Miniflare options (e.g. `analyticsEngineDatasets`)
 *  - `dist`: another `wrangler deploy --dry-run` output (e.g. dist-test, the test-panic build)
 * Returns { mf, base, request, stream, logs, kv, close }.
 */
export async function startWorker({ config, bundle, origin, preview = "on", token, bindings = {}, script, miniflare = {}, dist } = {}) {
  if (!script && !dist) assertDistFresh();
  const root = dist || DIST;
  const entries = bundle === undefined ? null : typeof bundle === "string" ? loadBundle(bundle) : bundle;
  if (config === undefined && !entries) config = TEST_CONFIG;
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
  const worker = script
    ? { scriptPath: script }
    : { scriptPath: path.join(root, "entry.js"), modulesRoot: root, modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }] };
  const mf = new Miniflare({
    modules: true,
    ...worker,
    compatibilityDate: "2025-09-01",
    kvNamespaces: ["BORDERLESS"],
    bindings: b,
    ...miniflare,
    handleRuntimeStdio(stdout, stderr) {
      collect(stdout);
      collect(stderr);
    },
  });
  const base = await mf.ready;
  const kv = await mf.getKVNamespace("BORDERLESS");
  if (entries) {
    // Values first, the pointer last: a reader never sees a config whose values are missing.
    await Promise.all(entries.filter((e) => e.key !== "config").map((e) => kv.put(e.key, e.value)));
    const own = entries.find((e) => e.key === "config");
    if (config === undefined && own) await kv.put("config", own.value);
  }
  if (config !== null && config !== undefined) {
    await kv.put("config", typeof config === "string" ? config : JSON.stringify(config));
  }
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

// ---------- KV bundles ----------

/** Reads a `wrangler kv bulk put` file; fails with a clear message when it is missing. */
export function loadBundle(file) {
  if (!fs.existsSync(file)) {
    throw new Error(`${path.relative(ROOT, file)} is missing: run \`make demo-bundle\` (it builds the demo's KV bundle)`);
  }
  const entries = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!Array.isArray(entries) || !entries.every((e) => typeof e.key === "string" && typeof e.value === "string")) {
    throw new Error(`${file}: not a [{key, value}] bulk file`);
  }
  if (entries.at(-1)?.key !== "config") throw new Error(`${file}: the config pointer is not the last entry`);
  return entries;
}

/** The demo bundle's entries, plus its parsed config and values by kind. */
export function demoBundle() {
  const entries = loadBundle(DEMO_BUNDLE_PATH);
  const config = JSON.parse(entries.at(-1).value);
  const prefix = `b/${config.bundle}/`;
  const dicts = {};
  let fx;
  for (const e of entries) {
    if (e.key.startsWith(`${prefix}dict/`)) dicts[e.key.slice(prefix.length + 5)] = JSON.parse(e.value);
    if (e.key === `${prefix}fx/rates`) fx = JSON.parse(e.value);
  }
  return { entries, config, dicts, fx };
}

/** The currencies a bundle carries money formats for (as `borderless build` picks them). */
export function bundleCurrencies(config, fx) {
  const loc = config.localization || {};
  const list = loc.currencies?.length ? [...loc.currencies] : fx ? [...Object.keys(fx.rates), fx.base] : [];
  list.push(config.site.currency);
  return [...new Set(list)].sort();
}

/**
 * An in-memory bundle for a custom config, shaped like `borderless build`'s:
 * `b/<bundle>/dict/<locale>` values ({locale, entries, money}) with money
 * formats sampled from this Node's Intl (scripts/money-formats.mjs), the FX
 * rates, and `config` last.
 *  - `dicts`: locale → entries; every configured locale gets one (empty
 *    entries) unless given here; `null` leaves a locale without a dictionary;
 *    extra keys (e.g. a bare `de`) add fallback dictionaries
 *  - `fx`: FxRates object, or undefined for none
 *  - `money: false`: dictionaries without money formats
 *  - `extra`: more [{key, value}] entries
 */
export function buildBundle(config, { dicts = {}, fx, money = true, extra = [] } = {}) {
  const key = (kind, id) => `b/${config.bundle}/${kind}/${id}`;
  const currencies = bundleCurrencies(config, fx);
  const locales = [...new Set([...(config.localization?.locales || []), ...Object.keys(dicts)])];
  const out = [];
  if (fx) out.push({ key: key("fx", "rates"), value: JSON.stringify(fx) });
  for (const locale of locales) {
    if (dicts[locale] === null) continue;
    const d = { locale, entries: dicts[locale] || {} };
    if (money) d.money = moneyFormats(locale, currencies);
    out.push({ key: key("dict", locale), value: JSON.stringify(d) });
  }
  out.push(...extra);
  out.push({ key: "config", value: JSON.stringify(config) });
  return out;
}

// ---------- expected prices (an independent oracle) ----------

/** A non-negative decimal string (or number) as [BigInt digits, scale]. */
function decimal(v) {
  const s = typeof v === "number" ? String(v) : v.trim();
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (!m[1] && !m[2])) throw new Error(`not a plain decimal: ${s}`);
  const frac = m[2] || "";
  return [BigInt((m[1] || "0") + frac), frac.length];
}

/** Fraction digits of a currency, as Node's Intl (ICU/CLDR) has them. */
export function currencyDigits(currency) {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

/** A decimal string as an integer number of minor units (digits after the point ≤ `digits`). */
function minorUnits(v, digits) {
  const [n, scale] = decimal(v);
  if (scale > digits) throw new Error(`${v} has more than ${digits} decimals`);
  return n * 10n ** BigInt(digits - scale);
}

/**
 * The price a visitor should see, as a Number in major units: `amount`
 * (decimal string, origin currency) × `rate`, computed exactly in decimal,
 * then the shop's rounding rule in minor units of `currency`:
 * `mode` up (never below the exact value; default) or nearest (half up) to
 * a multiple of `step` (default: one minor unit), then, with `charm`, the
 * smallest amount at or above that which ends in the charm (the ending
 * repeating every power of ten above it, at least one major unit).
 */
export function expectedPrice(amount, rate, currency, rule = {}) {
  const digits = currencyDigits(currency);
  const [a, sa] = decimal(amount);
  const [r, sr] = decimal(rate);
  // Exact value in minor units: num / den.
  const num = a * r * 10n ** BigInt(digits);
  const den = 10n ** BigInt(sa + sr);
  const step = rule.step ? minorUnits(rule.step, digits) : 1n;
  const unitsOfStep =
    (rule.mode || "up") === "up"
      ? (num + den * step - 1n) / (den * step) // ceil
      : (2n * num + den * step) / (2n * den * step); // floor(x + 1/2)
  let v = unitsOfStep * step;
  if (rule.charm) {
    const c = minorUnits(rule.charm, digits);
    let period = 10n ** BigInt(digits);
    while (period <= c) period *= 10n;
    v += (((c - v) % period) + period) % period;
  }
  return Number(v) / 10 ** digits;
}

/** What `Intl.NumberFormat(locale, {style: "currency", currency})` prints for `value`. */
export function intlPrice(locale, currency, value) {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(value);
}

/** The currency symbol Intl uses in `locale` (e.g. "€", "￥", "ر.س."). */
export function currencySymbol(locale, currency) {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).formatToParts(1).find((p) => p.type === "currency").value;
}

// ---------- the demo origin ----------

/** Starts demo/server.mjs on a free port; resolves to { url, proc, close() } once it listens. */
export function startDemoOrigin() {
  const server = path.join(ROOT, "demo", "server.mjs");
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [server, "--port", "0", "--host", "127.0.0.1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`demo origin exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    };
    const timer = setTimeout(() => {
      proc.kill("SIGTERM");
      reject(new Error(`demo origin did not start in 60 s\nstdout: ${out}\nstderr: ${err}`));
    }, 60_000);
    proc.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.removeListener("exit", onExit);
        resolve({
          url: m[1].replace(/\/$/, ""),
          proc,
          close: async () => {
            if (proc.exitCode !== null) return;
            const exited = new Promise((r) => proc.once("exit", r));
            proc.kill("SIGTERM");
            await Promise.race([exited, sleep(3000)]);
          },
        });
      }
    });
    proc.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    proc.on("exit", onExit);
  });
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
export function request(base, p, { method = "GET", body, rawPath = false, ...opts } = {}) {
  return new Promise((resolve, reject) => {
    // `rawPath`: the request target is sent exactly as given (no URL normalization
    // or percent-encoding by the client), e.g. to put raw `<"'>` in a query.
    const b = new URL(base);
    const target = rawPath ? new URL(base) : new URL(p, base);
    const req = http.request(
      target,
      { method, headers: requestHeaders(opts), agent: false, ...(rawPath ? { hostname: b.hostname, port: b.port, path: p } : {}) },
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

/**
 * A rewritten response's `Content-Length` as comparable: `own` when absent
 * (streamed) or the body's own (a small page sent whole), else the length,
 * to show: the origin's length on a rewritten body is never right.
 */
export function ownLength(res) {
  const n = res.headers["content-length"];
  return n === undefined || n === String(res.body.length) ? "own" : n;
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
