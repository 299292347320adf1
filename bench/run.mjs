// `make bench`: the worker against a passthrough worker, a reference JS
// worker (HTMLRewriter + Intl.NumberFormat) and its own native build, side by
// side in one run; plus streaming, memory, bundle, KV and precompute figures.
// Writes bench/results.json and BENCHMARKS.md.
//
// Options: --rounds N (default 3), --quick (2 rounds, short native run),
// --skip-native, --skip-precompute, --variant DIR (a dist/ to measure instead
// of dist/, used by bench/profiles.mjs), --out FILE (results JSON path).
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { Miniflare } from "miniflare";
import { storefrontPages, storefrontGroups } from "./workload.mjs";
import { workloadTm } from "./storefront-tm.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const OUT = path.join(ROOT, "target", "bench");
const PAGES_DIR = path.join(OUT, "pages");
const SHARED = path.join(ROOT, "..", "shared", "data");
const COMPAT = "2025-09-01";

const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string" },
    quick: { type: "boolean" },
    "skip-native": { type: "boolean" },
    "skip-precompute": { type: "boolean" },
    variant: { type: "string" },
    out: { type: "string" },
    only: { type: "string" },
  },
});
const ROUNDS = Number(opt.rounds ?? (opt.quick ? 2 : 3));
// CPU per request (slowest worker, warm-up) from which a page gets one round.
const HEAVY_MS = 100;
// Fixed-cost runs, each with its own kept-page and passthrough processes:
// two processes of one build read tens of µs apart on a busy host.
const FIXED_RUNS = 3;
const DIST = path.resolve(opt.variant ?? path.join(ROOT, "dist"));
const log = (...a) => console.error("[bench]", ...a);

// ---------- pages ----------

/** The demo store's home, a category and a product page, as its server renders them. */
async function demoPages() {
  const port = 8795;
  const child = spawn(process.execPath, [path.join(ROOT, "demo", "server.mjs"), "--port", String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    child.on("exit", (c) => reject(new Error(`demo server exited (${c})`)));
    child.stdout.on("data", (d) => String(d).includes("listening") && resolve());
  });
  const get = async (p) => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    if (r.status !== 200) throw new Error(`demo ${p}: ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  };
  try {
    const home = await get("/");
    const cat = /href="(\/c\/[a-z]+)"/.exec(home.toString())[1];
    const category = await get(cat);
    const prod = /href="(\/p\/[0-9A-Za-z]+)"/.exec(category.toString())[1];
    const product = await get(prod);
    const ct = "text/html; charset=utf-8";
    return [
      { name: "demo-home", path: "/", html: home, content_type: ct, kind: "demo" },
      { name: "demo-category", path: cat, html: category, content_type: ct, kind: "demo" },
      { name: "demo-product", path: prod, html: product, content_type: ct, kind: "demo" },
    ];
  } finally {
    child.kill();
  }
}

/** The fixed-cost probe: a ~1 KB page with nothing to rewrite (no prices, blocks or i18n markers). */
const tinyPage = () => ({ name: "tiny", path: "/t/about", html: fs.readFileSync(path.join(ROOT, "bench", "tiny.html")), content_type: "text/html; charset=utf-8", kind: "fixed" });

/** A page of about `mb` MB: the product page with its product cards repeated in the body. */
function bigPage(product, mb) {
  const s = product.toString();
  const cut = s.lastIndexOf("</main>") > 0 ? s.lastIndexOf("</main>") : s.lastIndexOf("</body>");
  const head = s.slice(0, cut);
  const tail = s.slice(cut);
  const card = (i) =>
    `<article class="card" itemscope itemtype="https://schema.org/Product"><h3 data-i18n="product.more">More like this ${i}</h3>` +
    `<p class="price" itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="priceCurrency" content="GBP">` +
    `<span data-price="${(i % 997) / 100 + 1}">£${((i % 997) / 100 + 1).toFixed(2)}</span></p><p>${"lorem ipsum dolor sit amet ".repeat(8)}</p></article>\n`;
  const parts = [head];
  let size = head.length + tail.length;
  for (let i = 0; size < mb * 1e6; i++) {
    const c = card(i);
    parts.push(c);
    size += c.length;
  }
  parts.push(tail);
  return Buffer.from(parts.join(""));
}

// ---------- the origin ----------

/** Serves the pages from memory; `?dribble=N,MS` sends N chunks MS apart; `/big/<mb>` a large page in 64 KB chunks. */
function startOrigin(pages, big) {
  const byPath = new Map(pages.map((p) => [p.path, p]));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://o");
    const bigMatch = /^\/big\/(\d+)$/.exec(url.pathname);
    if (bigMatch) {
      const body = big.get(Number(bigMatch[1]));
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60" });
      let i = 0;
      const pump = () => {
        while (i < body.length) {
          const ok = res.write(body.subarray(i, i + 65536));
          i += 65536;
          if (!ok) return res.once("drain", pump);
        }
        res.end();
      };
      return pump();
    }
    const p = byPath.get(url.pathname);
    if (!p) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const headers = { "content-type": p.content_type, "cache-control": "public, max-age=60" };
    const dribble = url.searchParams.get("dribble");
    if (!dribble) {
      headers["content-length"] = p.html.length;
      res.writeHead(200, headers).end(p.html);
      return;
    }
    const [n, ms] = dribble.split(",").map(Number);
    const size = Math.ceil(p.html.length / n);
    res.writeHead(200, headers);
    res.flushHeaders();
    let k = 0;
    const next = () => {
      res.write(p.html.subarray(k * size, (k + 1) * size));
      k += 1;
      if (k < n) setTimeout(next, ms);
      else res.end();
    };
    next();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// ---------- workers ----------

function workerdPids() {
  const pids = new Set();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      // Ours only (Miniflare spawns workerd as our child): other runs' workerds come and go.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) pids.add(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Nanoseconds of CPU the process has used: every thread's run time (/proc/PID/task/T/schedstat). */
function cpuNs(pid) {
  let total = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      /* thread ended */
    }
  }
  return total;
}

/** utime + stime of the process in ns (/proc/PID/stat; 10 ms ticks), a cross-check of cpuNs. */
function statNs(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const hz = 100;
  return ((Number(f[11]) + Number(f[12])) * 1e9) / hz;
}

function status(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

function bulkEntries() {
  const file = path.join(ROOT, "target", "kv", "bundle.json");
  if (!fs.existsSync(file)) throw new Error("target/kv/bundle.json is missing: run `make demo-bundle`");
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

async function startWorker(name, spec, origin, { preview = "off", entries = bulkEntries(), bindings = {} } = {}) {
  const before = workerdPids();
  const lines = { n: 0 };
  const count = (s) => s.on("data", (d) => (lines.n += String(d).split("\n").length - 1));
  const common = {
    name,
    compatibilityDate: COMPAT,
    kvNamespaces: ["BORDERLESS"],
    bindings: { ORIGIN: origin, PREVIEW: preview, ...bindings },
    handleRuntimeStdio(stdout, stderr) {
      count(stdout);
      count(stderr);
    },
  };
  const mf = new Miniflare({ ...common, ...spec });
  const base = await mf.ready;
  const pid = [...workerdPids()].find((p) => !before.has(p));
  if (!pid) throw new Error(`${name}: no workerd process found`);
  const kv = await mf.getKVNamespace("BORDERLESS");
  await Promise.all(entries.filter((e) => e.key !== "config").map((e) => kv.put(e.key, e.value)));
  await kv.put("config", entries.find((e) => e.key === "config").value);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return { name, mf, base: new URL(base), pid, agent, lines, close: () => (agent.destroy(), mf.dispose()) };
}

const WORKERS = {
  passthrough: () => ({ modules: true, scriptPath: path.join(ROOT, "bench", "passthrough.mjs") }),
  // dist/ (wrangler's bundle), or a variant: worker/entry.mjs beside its own build/.
  borderless: () => ({
    modules: true,
    scriptPath: fs.existsSync(path.join(DIST, "entry.js")) ? path.join(DIST, "entry.js") : path.join(DIST, "worker", "entry.mjs"),
    modulesRoot: DIST,
    modulesRules: [
      { type: "CompiledWasm", include: ["**/*.wasm"] },
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    ],
  }),
  reference: () => ({ modules: true, scriptPath: path.join(ROOT, "bench", "reference", "worker.mjs") }),
};

const VISITORS = JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "visitors.json"), "utf8")).visitors;

function headersFor(v, extra = {}) {
  const cf = JSON.stringify(v.cf).replace(/[\u0080-\uffff]/g, (u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { ...v.headers, "MF-CF-Blob": cf, ...extra };
}

/** One GET; resolves when the whole body has arrived. */
function get(w, p, headers, { onFirstByte } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = null;
    let bytes = 0;
    const chunks = [];
    const req = http.request(new URL(p, w.base), { headers, agent: w.agent }, (res) => {
      res.on("data", (c) => {
        if (first === null) {
          first = performance.now() - t0;
          onFirstByte?.(first);
        }
        bytes += c.length;
        if (headers["x-keep-body"]) chunks.push(c);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, bytes, ttfb: first, total: performance.now() - t0, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * `get`, asked once more if the connection breaks: the reference worker
 * (never Borderless so far) now and then resets one in a few hundred
 * requests on the largest pages. Counted per worker (`results.retries`).
 */
async function getAgain(w, p, headers) {
  try {
    return await get(w, p, headers);
  } catch (e) {
    (retried[w.name] ??= []).push(`${p}: ${e.message}`);
    return get(w, p, headers);
  }
}
const retried = {};

// ---------- measurements ----------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A seeded shuffle, so runs are reproducible. */
function shuffled(xs, seed) {
  const a = [...xs];
  let s = seed >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Both transforming workers, every page × visitor: the same body byte for
 * byte? And did they transform at all (fail-open would look fast)?
 */
async function sameRun(workers, pages, firstCpu = new Map()) {
  const rust = workers.find((w) => w.name === "borderless");
  const ref = workers.find((w) => w.name === "reference");
  const out = { pairs: 0, identical: 0, changed: 0, differing: [] };
  // Each worker's CPU a request of this pass, by page: it is their warm-up.
  const timed = async (w, p, h) => {
    const c0 = cpuNs(w.pid);
    const r = await getAgain(w, p.path, h);
    const byWorker = firstCpu.get(p.name) ?? new Map();
    byWorker.set(w.name, (byWorker.get(w.name) ?? 0) + (cpuNs(w.pid) - c0) / VISITORS.length);
    firstCpu.set(p.name, byWorker);
    return r;
  };
  for (const p of pages) {
    for (const v of VISITORS) {
      const h = headersFor(v, { "x-keep-body": "1" });
      const a = await timed(rust, p, h);
      out.pairs += 1;
      if (!a.body.equals(p.html)) out.changed += 1;
      if (!ref) continue;
      const b = await timed(ref, p, h);
      if (a.body.equals(b.body)) out.identical += 1;
      else {
        let i = 0;
        while (i < a.body.length && a.body[i] === b.body[i]) i++;
        out.differing.push({ page: p.name, visitor: v.name, at: i, borderless: a.body.subarray(i, i + 60).toString(), reference: b.body.subarray(i, i + 60).toString() });
      }
    }
  }
  if (out.changed === 0) throw new Error(`borderless changed none of ${pages.map((p) => p.name).join(", ")} (a fault served the origin page?)`);
  return out;
}

async function cpuRun(workers, pages, heavy = [], firstCpu = new Map()) {
  const acc = {};
  for (const w of workers) acc[w.name] = Object.fromEntries(pages.map((p) => [p.name, { ns: 0, stat: 0, n: 0, wall: [] }]));
  const batch = async (w, p, record, times) => {
    const c0 = cpuNs(w.pid);
    const s0 = statNs(w.pid);
    for (let k = 0; k < times; k++) {
      for (const v of VISITORS) {
        const r = await getAgain(w, p.path, headersFor(v));
        if (r.status !== 200) throw new Error(`${w.name} ${p.path}: ${r.status}`);
        if (record) record.wall.push(r.total);
      }
    }
    if (record) {
      record.ns += cpuNs(w.pid) - c0;
      record.stat += statNs(w.pid) - s0;
      record.n += times * VISITORS.length;
    }
  };
  // The warm-up: every page × visitor once through every worker.
  log(`warm-up: every page through every worker`);
  // A page where a worker spends ≥ HEAVY_MS of CPU a request (in the
  // comparison's pass, `sameRun`) is measured in one round, and that worker
  // with each visitor once: its figures are tens of ms to seconds a
  // request. The comparison's pass is then its warm-up for the workers it
  // ran (one pass of such requests is warm enough). The reference JS
  // worker's extra passes on such pages were half of the run's time.
  const visits = new Map();
  for (const p of pages) {
    const first = firstCpu.get(p.name) ?? new Map();
    const heavyFirst = [...first.values()].some((ns) => ns >= HEAVY_MS * 1e6);
    const cpu = heavyFirst ? new Map(first) : new Map();
    for (const w of workers.filter((w) => !cpu.has(w.name))) {
      const c0 = cpuNs(w.pid);
      await batch(w, p, null, 1);
      cpu.set(w.name, (cpuNs(w.pid) - c0) / VISITORS.length);
    }
    const isHeavy = (w) => cpu.get(w.name) >= HEAVY_MS * 1e6;
    const heavyPage = workers.some(isHeavy);
    if (heavyPage) heavy.push(p.name);
    visits.set(p.name, { rounds: heavyPage ? 1 : ROUNDS, times: new Map(workers.map((w) => [w.name, isHeavy(w) ? 1 : 2])) });
  }
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (const [i, p] of pages.entries()) {
      const { rounds, times } = visits.get(p.name);
      if (r >= rounds) continue;
      for (const w of shuffled(workers, r * 1000 + i + 1)) await batch(w, p, acc[w.name][p.name], times.get(w.name));
    }
    log(`round ${r + 1}/${ROUNDS} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  return acc;
}

/**
 * The fixed cost at steady state: V8 tiers Wasm (and JS) up function by
 * function as each one's budget runs out, and for the handler's once-a-request
 * code that takes thousands of requests; the compiling meanwhile is CPU of the
 * process. Every worker first serves `warm` requests of the page, then the
 * figure is the median over `rounds` batches (10 requests) of CPU per request.
 */
async function fixedRun(workers, page, warmed = new Set(), warm = 2000, rounds = 30) {
  for (const w of workers) {
    if (warmed.has(w)) continue;
    warmed.add(w);
    for (let i = 0; i < warm; i++) {
      const r = await getAgain(w, page.path, headersFor(VISITORS[i % VISITORS.length]));
      if (r.status !== 200) throw new Error(`${w.name} ${page.path}: ${r.status}`);
    }
  }
  const per = Object.fromEntries(workers.map((w) => [w.name, []]));
  let last = null;
  for (let r = 0; r < rounds; r++) {
    const order = shuffled(workers, r + 7);
    // Never two batches of one worker in a row: the second would find the
    // caches warm (tens of µs a request cheaper; bench/fixed-cost.md).
    if (order[0] === last) order.push(order.shift());
    last = order[order.length - 1];
    for (const w of order) {
      const c0 = cpuNs(w.pid);
      for (let k = 0; k < 2; k++) for (const v of VISITORS) await getAgain(w, page.path, headersFor(v));
      per[w.name].push((cpuNs(w.pid) - c0) / (2 * VISITORS.length) / 1e3);
    }
  }
  return { warm_requests: warm, rounds, median_us: Object.fromEntries(Object.entries(per).map(([k, xs]) => [k, median(xs)])) };
}

/**
 * The fixed-cost runs put together: each run's kept page and passthrough
 * are processes of their own (`kept-2`, `passthrough-2`, ...), two of one
 * build reading tens of µs apart; a worker's figure is the mean over runs.
 */
function fixedSummary(runs) {
  const groups = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.median_us)) (groups[k.replace(/-\d+$/, "")] ??= []).push(v);
  const us = Object.fromEntries(Object.entries(groups).map(([k, vs]) => [k, vs.reduce((a, b) => a + b, 0) / vs.length]));
  const net = (name) => (us[name] === undefined ? null : us[name] - us.passthrough);
  return { warm_requests: runs[0].warm_requests, rounds: runs[0].rounds, runs: runs.length, median_us: us, run_median_us: runs.map((r) => r.median_us), borderless_net_us: net("borderless"), kept_net_us: net("kept"), reference_net_us: net("reference") };
}

async function ttfbRun(workers, page) {
  const chunks = 8;
  const gap = 150;
  // Median of 3: each request takes the dribble's 8 × 150 ms whatever the worker.
  const runs = 3;
  const out = {};
  const direct = { name: "origin", base: new URL(workers[0].originBase), agent: new http.Agent({ keepAlive: true }) };
  for (const w of [direct, ...workers]) {
    const ttfb = [];
    const total = [];
    for (let i = 0; i < runs; i++) {
      const r = await get(w, `${page.path}?dribble=${chunks},${gap}`, headersFor(VISITORS[0]));
      ttfb.push(r.ttfb);
      total.push(r.total);
    }
    out[w.name] = { ttfb_ms: median(ttfb), last_byte_ms: median(total) };
  }
  direct.agent.destroy();
  return { chunks, gap_ms: gap, runs, page: page.name, page_bytes: page.html.length, ...out };
}

async function memoryRun(workers, sizes) {
  const out = {};
  for (const w of workers) {
    out[w.name] = {};
    for (const mb of sizes) {
      // Reset the peak (VmHWM) to the current RSS, then stream the page through.
      fs.writeFileSync(`/proc/${w.pid}/clear_refs`, "5");
      const rss0 = status(w.pid, "VmRSS");
      const r = await get(w, `/big/${mb}`, headersFor(VISITORS[0]));
      if (r.status !== 200) throw new Error(`${w.name} /big/${mb}: ${r.status}`);
      const peak = status(w.pid, "VmHWM");
      out[w.name][`${mb}MB`] = { body_bytes: r.bytes, rss_before: rss0, peak_rss: peak, peak_growth: peak - rss0 };
    }
  }
  return out;
}

/** KV reads per page type from the preview report, cold then steady. */
async function kvRun(origin, pages) {
  const w = await startWorker("kv", WORKERS.borderless(), origin, { preview: "on" });
  try {
    const reads = async (p, v) => {
      const r = await get(w, p.path, headersFor(v));
      const ctx = JSON.parse(r.headers["x-borderless-context"]);
      const kv = ctx.decisions.kv;
      return { kv: kv.filter((k) => k.source === "kv").length, isolate: kv.filter((k) => k.source === "isolate").length, keys: kv.filter((k) => k.source === "kv").map((k) => k.key) };
    };
    const byType = {};
    const first = [pages.find((p) => p.name === "demo-home"), pages.find((p) => p.name === "demo-category"), pages.find((p) => p.name === "demo-product"), pages.find((p) => p.kind === "storefront")];
    for (const [i, p] of first.entries()) byType[`${i === 0 ? "cold isolate, first request" : "then"}: ${p.name} (DE)`] = await reads(p, VISITORS[0]);
    byType["same isolate, another visitor country (JP, demo-home)"] = await reads(first[0], VISITORS[1]);
    for (const p of first) byType[`warm, ${p.name} (DE)`] = await reads(p, VISITORS[0]);
    let kv = 0;
    let iso = 0;
    let n = 0;
    for (let r = 0; r < 4; r++)
      for (const p of pages)
        for (const v of VISITORS) {
          const x = await reads(p, v);
          kv += x.kv;
          iso += x.isolate;
          n += 1;
        }
    return { by_page: byType, steady: { requests: n, kv_reads: kv, isolate_hits: iso, hit_rate: iso / (iso + kv), kv_reads_per_request: kv / n } };
  } finally {
    await w.close();
  }
}

function bundleSizes() {
  if (!fs.existsSync(path.join(DIST, "entry.js"))) return null; // a variant (bench/profiles.mjs measures it)
  const entry = fs.readFileSync(path.join(DIST, "entry.js"), "utf8");
  const wasmFile = fs.readdirSync(DIST).find((f) => f.endsWith(".wasm") && entry.includes(f));
  const wasm = fs.readFileSync(path.join(DIST, wasmFile));
  const js = fs.readFileSync(path.join(DIST, "entry.js"));
  const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
  const ref = path.join(ROOT, "bench", "reference", "worker.mjs");
  const refGz = fs.existsSync(ref) ? gz(fs.readFileSync(ref)) : null;
  return { wasm_raw: wasm.length, wasm_gzip: gz(wasm), js_raw: js.length, js_gzip: gz(js), total_gzip: gz(wasm) + gz(js), reference_js_gzip: refGz };
}

function nativeRun(pages) {
  const manifest = path.join(PAGES_DIR, "manifest.json");
  const args = ["bench", "--profile", "native-bench", "--bench", "pipeline", "--", "--noplot", "--warm-up-time", "0.2", "--measurement-time", "0.5", "--nresamples", "2000"];
  log(`cargo ${args.join(" ")}`);
  const r = spawnSync("cargo", args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, BENCH_PAGES: manifest } });
  if (r.status !== 0) throw new Error("cargo bench failed");
  const out = {};
  for (const p of pages) {
    const f = path.join(ROOT, "target", "criterion", "pipeline", p.name, "new", "estimates.json");
    const e = JSON.parse(fs.readFileSync(f, "utf8"));
    out[p.name] = e.median.point_estimate / VISITORS.length; // ns per request
  }
  // The 1 KB page answered from its kept copy (benches/pipeline.rs).
  const kept = path.join(ROOT, "target", "criterion", "pipeline", "tiny-kept", "new", "estimates.json");
  if (pages.some((p) => p.name === "tiny") && fs.existsSync(kept)) out["tiny-kept"] = JSON.parse(fs.readFileSync(kept, "utf8")).median.point_estimate / VISITORS.length;
  return out;
}

function precomputeRun() {
  const py = path.join(ROOT, ".venv", "bin", "python");
  const script = path.join(ROOT, "bench", "precompute.py");
  if (!fs.existsSync(script)) return null;
  log("precompute: bench/precompute.py");
  const r = spawnSync(py, [script], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error("bench/precompute.py failed");
  return JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "out", "precompute.json"), "utf8"));
}

function machine() {
  const cpus = os.cpus();
  let workerd = "";
  try {
    workerd = execFileSync(path.join(ROOT, "node_modules", ".bin", "workerd"), ["--version"], { encoding: "utf8" }).trim();
  } catch {
    /* not found */
  }
  const rustc = execFileSync("rustc", ["--version"], { encoding: "utf8" }).trim();
  const miniflare = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "miniflare", "package.json"), "utf8")).version;
  return { cpu: cpus[0]?.model, cores: cpus.length, memory_gb: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, node: process.version, rustc, workerd, miniflare };
}

// ---------- main ----------

async function main() {
  const started = new Date();
  // Wall time of each part (s), so the run's length can be read and cut.
  const timing = {};
  let lap = performance.now();
  const done = (part) => {
    const now = performance.now();
    timing[part] = Math.round((now - lap) / 100) / 10;
    lap = now;
  };
  fs.mkdirSync(PAGES_DIR, { recursive: true });
  log("pages: the demo store and every 3rd of ../shared/data/storefront-pages (bench/workload.mjs)");
  const demo = await demoPages();
  const sf = storefrontPages();
  // Each shop's memory: a pseudo-translation of its pages (bench/storefront-tm.mjs, cached in target/).
  const groups = storefrontGroups(sf, { tm: workloadTm });
  const pages = [...demo, ...sf];
  // Measured beside the demo pages, reported apart (`fixed_overhead_us`), never in the means.
  const tiny = tinyPage();
  const all = [...pages, tiny];
  // One bundle per shop group; the demo's own (`make demo-bundle`).
  const bundleDir = path.join(OUT, "bundles");
  fs.mkdirSync(bundleDir, { recursive: true });
  const bundleFile = new Map([...demo, tiny].map((p) => [p.name, path.join(ROOT, "target", "kv", "bundle.json")]));
  for (const g of groups) {
    const f = path.join(bundleDir, `${g.name}.json`);
    fs.writeFileSync(f, JSON.stringify(g.entries));
    for (const p of g.pages) bundleFile.set(p.name, f);
  }
  for (const p of all) fs.writeFileSync(path.join(PAGES_DIR, `${p.name}.html`), p.html);
  fs.writeFileSync(
    path.join(PAGES_DIR, "manifest.json"),
    JSON.stringify({ pages: all.map((p) => ({ name: p.name, file: `${p.name}.html`, path: p.path, content_type: p.content_type, bundle: bundleFile.get(p.name) })) }, null, 1),
  );
  const product = pages.find((p) => p.name === "demo-product").html;
  const big = new Map([1, 10].map((mb) => [mb, bigPage(product, mb)]));
  const server = await startOrigin(all, big);
  const origin = `http://127.0.0.1:${server.address().port}`;
  done("pages_and_memories");

  const results = { date: started.toISOString(), machine: machine(), rounds: ROUNDS, visitors: VISITORS.map((v) => v.name), pages: pages.map((p) => ({ name: p.name, kind: p.kind, bytes: p.html.length })) };
  // The demo first (its workers also serve the streaming and memory runs), then each shop group with its bundle.
  const segments = [{ name: "demo", pages: [...demo, tiny], entries: bulkEntries() }, ...groups.map((g) => ({ name: g.name, pages: g.pages, entries: g.entries }))];
  const ref = fs.existsSync(path.join(ROOT, "bench", "reference", "worker.mjs"));
  const acc = {};
  let steady = null;
  results.same_output = {};
  for (const seg of segments) {
    log(`${seg.name}: ${seg.pages.length} page(s)`);
    const workers = [];
    try {
      for (const name of ["passthrough", "borderless", ...(ref ? ["reference"] : [])]) {
        // Every page rewritten (no kept pages): the ratios measure the
        // rewrite, not a repeat request answered from a kept page.
        const bindings = name === "borderless" ? { KEPT_PAGES: "off" } : {};
        const w = await startWorker(name, WORKERS[name](), origin, { entries: seg.entries, bindings });
        w.originBase = origin;
        workers.push(w);
      }
      const firstCpu = new Map();
      results.same_output[seg.name] = await sameRun(workers, seg.pages, firstCpu);
      done(`start_and_compare_${seg.name}`);
      const cpu = await cpuRun(workers, seg.pages, (results.heavy ??= { ms: HEAVY_MS, pages: [] }).pages, firstCpu);
      done(`cpu_${seg.name}`);
      for (const [w, byPage] of Object.entries(cpu)) Object.assign((acc[w] ??= {}), byPage);
      if (seg.name === "demo" && opt.only !== "cpu") {
        log("streaming: time to first byte with a dribbling origin");
        results.ttfb = await ttfbRun(workers, pages.find((p) => p.name === "demo-product"));
        log("memory: 1 MB and 10 MB pages");
        results.memory = await memoryRun(workers, [1, 10]);
        done("ttfb_and_memory");
      }
      // Last: its 2,000 requests per worker grow the heaps the memory run reads.
      if (seg.name === "demo") {
        log("fixed cost: the 1 KB page at steady state");
        // Beside it, the shipped worker, which keeps pages: from the second
        // request of a variant on, the 1 KB page is answered from its kept copy.
        // FIXED_RUNS runs, each with a kept page's worker and a passthrough
        // of its own beside the same rewriting and reference workers: four
        // workers in each, as in the rounds before (`fixed_overhead_us` is
        // the mean over runs; more workers at once would leave each one's
        // caches colder).
        const warmed = new Set();
        const runs = [];
        const [pass, rewrite, reference] = workers;
        for (let c = 1; c <= FIXED_RUNS; c++) {
          const sfx = c > 1 ? `-${c}` : "";
          const p = c > 1 ? await startWorker(`passthrough${sfx}`, WORKERS.passthrough(), origin, { entries: seg.entries }) : pass;
          if (c > 1) workers.push(p);
          const kept = await startWorker(`kept${sfx}`, WORKERS.borderless(), origin, { entries: seg.entries });
          workers.push(kept);
          runs.push(await fixedRun([p, rewrite, ...(reference ? [reference] : []), kept], tiny, warmed));
        }
        steady = fixedSummary(runs);
        done("fixed");
      }
    } finally {
      for (const w of workers) await w.close();
    }
  }
  results.cpu = summarizeCpu(acc, pages);
  results.retries = retried;
  const perReq = (w) => acc[w].tiny.ns / acc[w].tiny.n / 1e3;
  // In the rounds: the mean over 3 batches early in the workers' lives, V8's compiling included (the figure before 2026-11-30).
  const inRounds = { borderless_net_us: perReq("borderless") - perReq("passthrough"), reference_net_us: acc.reference ? perReq("reference") - perReq("passthrough") : null };
  results.fixed = { page: tiny.name, bytes: tiny.html.length, borderless_net_us: steady.borderless_net_us, kept_net_us: steady.kept_net_us, reference_net_us: steady.reference_net_us, steady, in_rounds: inRounds };
  if (opt.only === "cpu") {
    server.close();
    results.fixed_overhead_us = results.fixed.kept_net_us;
    results.fixed_overhead_rewrite_us = results.fixed.borderless_net_us;
    results.timing_s = { ...timing, run: Math.round((Date.now() - started.getTime()) / 1000) };
    results.bundle = bundleSizes();
    fs.writeFileSync(path.resolve(opt.out), JSON.stringify(results, null, 2) + "\n");
    return;
  }
  log("KV reads");
  results.kv = await kvRun(origin, pages);
  done("kv");
  server.close();
  results.bundle = bundleSizes();
  if (!opt["skip-native"]) {
    results.native_ns = nativeRun(all);
    done("native");
    results.fixed.native_us = results.native_ns.tiny / 1e3;
    results.fixed.native_kept_us = results.native_ns["tiny-kept"] / 1e3;
    results.cpu.native = nativeSummary(results.cpu, results.native_ns, pages);
  }
  if (!opt["skip-precompute"]) {
    results.precompute = precomputeRun();
    done("precompute");
  }
  else if (fs.existsSync(path.join(ROOT, "bench", "out", "precompute.json")))
    results.precompute = JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "out", "precompute.json"), "utf8")); // an earlier run
  const profiles = path.join(ROOT, "bench", "profiles.json");
  if (fs.existsSync(profiles)) results.profiles = JSON.parse(fs.readFileSync(profiles, "utf8"));

  results.cpu_ratio_vs_js = results.cpu.ratio_vs_js;
  results.cpu_ratio_vs_js_real = results.cpu.by_kind.storefront?.ratio ?? null;
  results.cpu_ratio_vs_js_demo = results.cpu.by_kind.demo?.ratio ?? null;
  results.cpu_ratio_vs_native = results.cpu.native?.ratio ?? null;
  results.bundle_gzip_bytes = results.bundle.wasm_gzip;
  results.fixed_overhead_us = results.fixed.kept_net_us;
  results.fixed_overhead_rewrite_us = results.fixed.borderless_net_us;
  results.timing_s = { ...timing, run: Math.round((Date.now() - started.getTime()) / 1000) };
  // `make bench` from its start, builds included.
  const makeStarted = Number(process.env.BENCH_MAKE_STARTED);
  if (makeStarted > 0) results.timing_s.make = Math.round(Date.now() / 1000 - makeStarted);
  const top = { cpu_ratio_vs_js: results.cpu_ratio_vs_js, cpu_ratio_vs_js_real: results.cpu_ratio_vs_js_real, cpu_ratio_vs_js_demo: results.cpu_ratio_vs_js_demo, cpu_ratio_vs_native: results.cpu_ratio_vs_native, fixed_overhead_us: results.fixed_overhead_us, fixed_overhead_rewrite_us: results.fixed_overhead_rewrite_us, bundle_gzip_bytes: results.bundle_gzip_bytes };
  const ordered = { ...top, ...results };
  const outFile = path.resolve(opt.out ?? path.join(ROOT, "bench", "results.json"));
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(ordered, null, 2) + "\n");
  log(`wrote ${path.relative(ROOT, outFile)}`);
  if (!opt.out) {
    const { render } = await import("./report.mjs");
    fs.writeFileSync(path.join(ROOT, "BENCHMARKS.md"), render(ordered));
    log("wrote BENCHMARKS.md");
  }
  console.log(JSON.stringify(top));
}

function summarizeCpu(acc, pages) {
  const per = {};
  const sum = { a: 0, b: 0, c: 0 };
  const sumKind = {};
  for (const p of pages) {
    const x = (w) => (acc[w] ? acc[w][p.name].ns / acc[w][p.name].n / 1e3 : NaN); // µs per request
    const a = x("passthrough");
    const b = x("borderless");
    const c = x("reference");
    per[p.name] = {
      kind: p.kind,
      bytes: p.html.length,
      requests: acc.borderless[p.name].n,
      passthrough_us: a,
      borderless_us: b,
      reference_us: c,
      borderless_net_us: b - a,
      reference_net_us: c - a,
      ratio: (b - a) / (c - a),
      wall_ms: Object.fromEntries(Object.entries(acc).map(([w, r]) => [w, median(r[p.name].wall)])),
      stat_check_us: Object.fromEntries(Object.entries(acc).map(([w, r]) => [w, r[p.name].stat / r[p.name].n / 1e3])),
    };
    sum.a += a;
    sum.b += b;
    sum.c += c;
    const k = (sumKind[p.kind] ??= { a: 0, b: 0, c: 0, pages: 0 });
    k.a += a;
    k.b += b;
    k.c += c;
    k.pages += 1;
  }
  const n = pages.length;
  const kinds = Object.fromEntries(
    Object.entries(sumKind).map(([k, s]) => [k, { pages: s.pages, borderless_net_us: (s.b - s.a) / s.pages, reference_net_us: (s.c - s.a) / s.pages, ratio: (s.b - s.a) / (s.c - s.a) }]),
  );
  const measured = (w) => Object.values(acc[w]).reduce((t, r) => t + r.n, 0);
  return {
    requests_per_worker: measured("borderless"),
    requests_in_all: Object.keys(acc).reduce((t, w) => t + measured(w), 0),
    mean_passthrough_us: sum.a / n,
    mean_borderless_net_us: (sum.b - sum.a) / n,
    mean_reference_net_us: (sum.c - sum.a) / n,
    ratio_vs_js: (sum.b - sum.a) / (sum.c - sum.a),
    by_kind: kinds,
    by_page: per,
  };
}

function nativeSummary(cpu, native, pages) {
  let wasm = 0;
  let nat = 0;
  const by = {};
  for (const p of pages) {
    const b = cpu.by_page[p.name].borderless_net_us;
    const n = native[p.name] / 1e3;
    by[p.name] = { native_us: n, wasm_net_us: b, ratio: b / n };
    wasm += b;
    nat += n;
  }
  return { ratio: wasm / nat, mean_native_us: nat / pages.length, by_page: by };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
