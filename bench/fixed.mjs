// The fixed cost of a request (issue 14): net CPU of the worker on the tiny
// page (bench/tiny.html) and the three demo pages, side by side with the
// passthrough worker; optionally V8's CPU profile of the worker (workerd's
// inspector) and the count of JS↔Wasm calls per request.
//
//   node bench/fixed.mjs [--dist DIR ...] [--rounds N] [--copies N] [--tiny-only]
//                        [--warm N] [--no-liftoff] [--series FILE]
//                        [--profile FILE.cpuprofile [--requests N] [--warm N]]
//                        [--crossings] [--stages] [--perf DIR [--requests N] [--warm N]]
//
// --perf DIR: perf's cpu-clock samples of the passthrough and the first --dist
// (DIR/NAME.data; V8's code map in /tmp/perf-PID.map names the JS and Wasm
// code): `perf report -i DIR/NAME.data --sort dso,sym` (bench/fixed-cost.md,
// "workerd counted, not timed", also runs it under callgrind).
//
// --warm N: requests per page through every worker before the rounds (V8
// tiers Wasm up over the first thousands of requests; bench/run.mjs warms
// 2,000). --no-liftoff adds the first --dist again, run by a workerd whose
// V8 compiles all Wasm with TurboFan at once (`--no-liftoff`): what the
// baseline compiler's code still costs at this point of the isolate's life.
// --series writes every round's µs per request, by worker and page.
//
// --stages splits the cost of the first --dist into the request's stages by
// measuring, side by side, copies of it cut short (`stageDists`): the entry
// alone, + the reads, + phase one, + the body read, + phase two (with the
// body's rewrite), and the build without its console log line; the build
// less phase two is the response made from the origin's head and the edits.
//
// Several --dist (each a `make dist` output) are measured side by side in one
// run, for before/after tables. Two workerd processes of the same build read
// up to ~5 % apart (memory layout, the core they land on): --copies N runs
// each build in N processes and reports their mean beside each one. CPU is
// read as bench/run.mjs reads it.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import WebSocket from "ws";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values: opt } = parseArgs({
  options: {
    dist: { type: "string", multiple: true },
    rounds: { type: "string" },
    "tiny-only": { type: "boolean" },
    profile: { type: "string" },
    crossings: { type: "boolean" },
    stages: { type: "boolean" },
    requests: { type: "string" },
    warm: { type: "string" },
    copies: { type: "string" },
    "no-liftoff": { type: "boolean" },
    series: { type: "string" },
    perf: { type: "string" },
  },
});
const ROUNDS = Number(opt.rounds ?? 20);
const COPIES = Math.max(1, Number(opt.copies ?? 1));
const DISTS = (opt.dist ?? [path.join(ROOT, "dist")]).map((d) => path.resolve(d));
const VISITORS = JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "visitors.json"), "utf8")).visitors;
const log = (...a) => console.error("[fixed]", ...a);
// V8 flags set for the whole run (the same variable), kept for every workerd.
const V8_FLAGS = process.env.MINIFLARE_WORKERD_V8_FLAGS ?? "";

async function demoPages() {
  const port = 8796;
  const child = spawn(process.execPath, [path.join(ROOT, "demo", "server.mjs"), "--port", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((ok, fail) => {
    child.on("exit", (c) => fail(new Error(`demo server exited (${c})`)));
    child.stdout.on("data", (d) => String(d).includes("listening") && ok());
  });
  const get = async (p) => Buffer.from(await (await fetch(`http://127.0.0.1:${port}${p}`)).arrayBuffer());
  try {
    const home = await get("/");
    const cat = /href="(\/c\/[a-z]+)"/.exec(home.toString())[1];
    const category = await get(cat);
    const prod = /href="(\/p\/[0-9A-Za-z]+)"/.exec(category.toString())[1];
    return [
      { name: "demo-home", path: "/", html: home },
      { name: "demo-category", path: cat, html: category },
      { name: "demo-product", path: prod, html: await get(prod) },
    ];
  } finally {
    child.kill();
  }
}

function startOrigin(pages) {
  const byPath = new Map(pages.map((p) => [p.path, p]));
  const server = http.createServer((req, res) => {
    const p = byPath.get(new URL(req.url, "http://o").pathname);
    if (!p) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60", "content-length": p.html.length }).end(p.html);
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

function workerdPids() {
  const pids = new Set();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")).startsWith("workerd")) pids.add(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function cpuNs(pid) {
  let t = 0;
  for (const th of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      t += Number(fs.readFileSync(`/proc/${pid}/task/${th}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      /* thread ended */
    }
  }
  return t;
}

/** A copy of a dist whose glue counts every call between JS and Wasm; GET /__bl_calls returns the counts. */
function countingDist(dist) {
  const out = path.join(ROOT, "target", "fixed", `counting-${path.basename(dist)}`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.cpSync(dist, out, { recursive: true });
  const f = path.join(out, "entry.js");
  let s = fs.readFileSync(f, "utf8");
  const prelude = `const __blC = (globalThis.__bl_calls = { imports: {}, exports: {} });
globalThis.__bl_imports = (imp) => { for (const m of Object.values(imp)) for (const [k, fn] of Object.entries(m)) if (typeof fn === "function") m[k] = function (...a) { __blC.imports[k] = (__blC.imports[k] || 0) + 1; return fn.apply(this, a); }; return imp; };
globalThis.__bl_exports = (ex) => { const o = {}; for (const [k, fn] of Object.entries(ex)) o[k] = typeof fn === "function" ? function (...a) { __blC.exports[k] = (__blC.exports[k] || 0) + 1; return fn.apply(this, a); } : fn; return o; };
`;
  let n = 0;
  s = s.replace(/new WebAssembly\.Instance\(([\w$]+), ([\w$]+)\(\)\)/g, (_, a, b) => (n++, `new WebAssembly.Instance(${a}, globalThis.__bl_imports(${b}()))`));
  s = s.replace(/([\w$]+) = ([\w$]+)\.exports\b/g, (_, a, b) => (n++, `${a} = globalThis.__bl_exports(${b}.exports)`));
  s = s.replace(/async fetch\(request(?:, env, ctx)?\) \{/, (m) => (n++, `${m} if (request.url.endsWith("/__bl_calls")) return new Response(JSON.stringify(globalThis.__bl_calls));`));
  if (n < 5) throw new Error(`countingDist: patched ${n} places, expected 5 (the glue changed shape)`);
  // `import` lines must stay first.
  const lastImport = [...s.matchAll(/^import .*;$/gm)].pop();
  const at = lastImport ? lastImport.index + lastImport[0].length + 1 : 0;
  fs.writeFileSync(f, s.slice(0, at) + prelude + s.slice(at));
  return out;
}

/**
 * Copies of `dist` cut short at each stage of a request (bench/fixed-cost.md),
 * each a patch of the bundled entry, so no rebuild:
 * `entry`: worker/entry.mjs fetches the origin itself, no Wasm call;
 * `read`: + the request headers and `cf` read, then the same fetch;
 * `start`: + phase one in Wasm and the origin request it names;
 * `bodyread`: + a small page's body read whole, then sent as read;
 * `origin`: + phase two in Wasm (with that body's rewrite); the origin's
 *   response goes out as it came;
 * `nolog`: the build with its log lines not written to the console;
 * then the build itself (the response made with the header edits).
 */
function stageDists(dist) {
  const patch = (name, edits) => {
    const out = path.join(ROOT, "target", "fixed", `stage-${name}`);
    fs.rmSync(out, { recursive: true, force: true });
    fs.cpSync(dist, out, { recursive: true });
    const f = path.join(out, "entry.js");
    let s = fs.readFileSync(f, "utf8");
    for (const [re, to] of edits) {
      if (!re.test(s)) throw new Error(`stage ${name}: ${re} not found (the entry changed shape)`);
      s = s.replace(re, to);
    }
    fs.writeFileSync(f, s);
    return out;
  };
  // The request sent on to the origin as it came.
  const toOrigin = "const u = new URL(request.url); const o = new URL(env.ORIGIN); u.protocol = o.protocol; u.host = o.host; return fetch(u.toString(), request);";
  const self = `{ ${toOrigin} }`;
  // The reads kept (a use of each), then the same.
  const read = `{ inflight.delete(r); if (heard.length + (cf ?? "").length < 0) throw 0; ${toOrigin} }`;
  return [
    patch("entry", [[/async fetch\(request, env, ctx\) \{/, (m) => `${m} ${self}`]]),
    patch("read", [[/const cf = cfLine\(request\);/, (m) => `${m} ${read}`]]),
    patch("start", [[/origin = await sent;/, (m) => `${m} forget(); return { response: origin };`]]),
    // The body read whole, then sent as read: phase two's own share is "origin" less this.
    patch("bodyread", [[/let got, rest;/, "if (buf) { forget(); return { response: new Response(buf, { status: origin.status, headers: origin.headers }) }; } let got, rest;"]]),
    // Phase two, which rewrites a body read whole in the same call (`W`), its
    // answer dropped: the origin's bytes sent as read.
    patch("origin", [[/nl = got\.indexOf\("\\n"\);/, (m) => `{ const m = /^R (\\d+)/.exec(got); if (m) bodyDrop(Number(m[1])); return { response: buf ? new Response(buf, { status: origin.status, headers: origin.headers }) : origin }; } ${m}`]]),
    patch("nolog", [[/(__wbg_log_\w+: function\(\w+\) \{)/, "$1 return;"]]),
    dist,
  ];
}

async function startWorker(name, origin, dist, extra = {}, v8Flags = []) {
  fs.mkdirSync(path.join(ROOT, "target", "fixed"), { recursive: true });
  const before = workerdPids();
  // Miniflare passes V8 flags to the workerd it starts only from this
  // variable: the run's own, then this worker's.
  process.env.MINIFLARE_WORKERD_V8_FLAGS = [V8_FLAGS, ...v8Flags].filter(Boolean).join(" ");
  const spec = dist
    ? {
        scriptPath: path.join(dist, "entry.js"),
        modulesRoot: dist,
        modulesRules: [
          { type: "CompiledWasm", include: ["**/*.wasm"] },
          { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
        ],
      }
    : { scriptPath: path.join(ROOT, "bench", "passthrough.mjs") };
  const mf = new Miniflare({
    name,
    modules: true,
    compatibilityDate: "2025-09-01",
    kvNamespaces: ["BORDERLESS"],
    bindings: { ORIGIN: origin, PREVIEW: "off" },
    handleRuntimeStdio(out, err) {
      const f = fs.createWriteStream(path.join(ROOT, "target", "fixed", `${name}.log`));
      out.pipe(f);
      err.pipe(f);
    },
    ...spec,
    ...extra,
  });
  const base = new URL(await mf.ready);
  const pid = [...workerdPids()].find((p) => !before.has(p));
  const kv = await mf.getKVNamespace("BORDERLESS");
  const entries = JSON.parse(fs.readFileSync(path.join(ROOT, "target", "kv", "bundle.json"), "utf8"));
  await Promise.all(entries.map((e) => kv.put(e.key, e.value)));
  return { name, mf, base, pid, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
}

function headersFor(v) {
  const cf = JSON.stringify(v.cf).replace(/[\u0080-\uffff]/g, (u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { ...v.headers, "MF-CF-Blob": cf };
}

function get(w, p, headers) {
  return new Promise((ok, fail) => {
    const chunks = [];
    const req = http.request(new URL(p, w.base), { headers, agent: w.agent }, (res) => {
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on("error", fail);
    });
    req.setTimeout(15000, () => req.destroy(new Error(`${w.name} ${p}: no answer in 15 s`)));
    req.on("error", fail);
    req.end();
  });
}

async function batch(w, p, times = 2) {
  for (let k = 0; k < times; k++)
    for (const v of VISITORS) {
      const r = await get(w, p.path, headersFor(v));
      if (r.status !== 200) throw new Error(`${w.name} ${p.path}: ${r.status}`);
    }
  return times * VISITORS.length;
}

/** µs of CPU per request: the median over rounds of short batches (the
 *  machine is shared; a median shrugs off a batch that met a busy moment). */
async function cpu(workers, pages) {
  const acc = Object.fromEntries(workers.map((w) => [w.name, Object.fromEntries(pages.map((p) => [p.name, []]))]));
  const warm = Math.max(1, Math.ceil(Number(opt.warm ?? 10) / VISITORS.length));
  for (const p of pages) for (const w of workers) await batch(w, p, warm);
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of pages) {
      // Rotated one place a round: each worker takes every place in turn,
      // and none runs two batches in a row (the reversal it replaces ran
      // the last worker twice in a row every other round, with its caches
      // warm: ~40-100 µs a request cheaper, so the last build listed read low).
      // (Two workers simply alternate.)
      const k = workers.length > 2 ? r : 0;
      const order = workers.map((_, i) => workers[(i + k) % workers.length]);
      for (const w of order) {
        const c0 = cpuNs(w.pid);
        const n = await batch(w, p, 2);
        acc[w.name][p.name].push((cpuNs(w.pid) - c0) / n / 1e3);
      }
    }
    if ((r + 1) % 5 === 0) log(`round ${r + 1}/${ROUNDS}`);
  }
  const median = (xs) => {
    const a = [...xs].sort((x, y) => x - y);
    return a.length % 2 ? a[a.length >> 1] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  };
  if (opt.series) fs.writeFileSync(path.resolve(opt.series), JSON.stringify(acc));
  const us = (w, p) => median(acc[w][p]);
  const out = {};
  for (const p of pages) {
    out[p.name] = { passthrough_us: us("passthrough", p.name) };
    for (const w of workers.slice(1)) out[p.name][`${w.name}_net_us`] = us(w.name, p.name) - us("passthrough", p.name);
  }
  return out;
}

/** V8's sampling profile of `w` over `n` tiny-page requests, summarized by self time. */
async function profile(w, port, page, n, file) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = list.find((t) => t.title?.includes(w.name) || t.id?.includes(w.name)) ?? list.find((t) => !/^core:/.test(t.title ?? ""));
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok) => ws.on("open", ok));
  let id = 0;
  const pending = new Map();
  ws.on("message", (m) => {
    const x = JSON.parse(m);
    if (x.id && pending.has(x.id)) pending.get(x.id)(x), pending.delete(x.id);
  });
  const call = (method, params = {}) => new Promise((ok) => (pending.set(++id, ok), ws.send(JSON.stringify({ id, method, params }))));
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 50 });
  await call("Profiler.start");
  for (let i = 0; i < n; i += VISITORS.length) await batch(w, page, 1);
  const { result } = await call("Profiler.stop");
  ws.close();
  fs.writeFileSync(file, JSON.stringify(result.profile));
  const prof = result.profile;
  const self = new Map();
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const dt = new Map();
  prof.samples.forEach((s, i) => dt.set(s, (dt.get(s) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  let total = 0;
  for (const [nid, t] of dt) {
    const cf = byId.get(nid).callFrame;
    const key = `${cf.functionName || "(anonymous)"} ${cf.url ? path.basename(cf.url) : ""}`.trim();
    self.set(key, (self.get(key) ?? 0) + t);
    total += t;
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
  return { samples: prof.samples.length, requests: n, top: top.map(([k, t]) => ({ fn: k, self_us_per_request: t / n, share: t / total })) };
}

async function main() {
  const tiny = { name: "tiny", path: "/t/about", html: fs.readFileSync(path.join(ROOT, "bench", "tiny.html")) };
  const pages = opt["tiny-only"] || opt.profile || opt.crossings || opt.perf ? [tiny] : [tiny, ...(await demoPages())];
  const server = await startOrigin(pages);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const workers = [];
  try {
    if (opt.crossings) {
      for (const d of DISTS) {
        const w = await startWorker(`count-${path.basename(d)}`, origin, countingDist(d));
        workers.push(w);
        const res = {};
        for (const p of pages) {
          await batch(w, p, 1);
          const c0 = JSON.parse((await get(w, "/__bl_calls", {})).body);
          const n = await batch(w, p, 2);
          const c1 = JSON.parse((await get(w, "/__bl_calls", {})).body);
          const diff = (a, b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, (v - (a[k] ?? 0)) / n]).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]));
          const imports = diff(c0.imports, c1.imports);
          const exports = diff(c0.exports, c1.exports);
          const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
          res[p.name] = { wasm_to_js_per_request: sum(imports), js_to_wasm_per_request: sum(exports), imports, exports };
        }
        console.log(JSON.stringify({ dist: d, crossings: res }, null, 1));
      }
      return;
    }
    if (opt.profile) {
      const port = 9229 + Math.floor(Math.random() * 500);
      const w = await startWorker("profiled", origin, DISTS[0], { inspectorPort: port });
      workers.push(w);
      await batch(w, tiny, Math.ceil(Number(opt.warm ?? 20) / VISITORS.length));
      const p = await profile(w, port, tiny, Number(opt.requests ?? 2000), path.resolve(opt.profile));
      console.log(JSON.stringify(p, null, 1));
      return;
    }
    if (opt.perf) {
      // perf's cpu-clock samples of the passthrough and the first --dist,
      // each over the same tiny-page requests (V8 names its code in
      // /tmp/perf-PID.map): where a request's time goes, native included.
      const out = path.resolve(opt.perf);
      fs.mkdirSync(out, { recursive: true });
      const flags = ["--perf-basic-prof", "--no-logfile-per-isolate", "--logfile=/dev/null"];
      const ws = [await startWorker("passthrough", origin, null, {}, flags), await startWorker("borderless", origin, DISTS[0], {}, flags)];
      workers.push(...ws);
      for (const w of ws) await batch(w, tiny, Math.ceil(Number(opt.warm ?? 2000) / VISITORS.length));
      const res = [];
      for (const w of ws) {
        const data = path.join(out, `${w.name}.data`);
        const rec = spawn("perf", ["record", "-q", "-e", "cpu-clock", "-F", "10000", "-g", "-p", String(w.pid), "-o", data], { stdio: "inherit" });
        await new Promise((ok) => setTimeout(ok, 500));
        const c0 = cpuNs(w.pid);
        let n = 0;
        while (n < Number(opt.requests ?? 5000)) n += await batch(w, tiny, 1);
        const us = (cpuNs(w.pid) - c0) / n / 1e3;
        await new Promise((ok) => (rec.on("exit", ok), rec.kill("SIGINT")));
        res.push({ worker: w.name, pid: w.pid, requests: n, cpu_us_per_request: us, data });
      }
      console.log(JSON.stringify(res, null, 1));
      return;
    }
    workers.push(await startWorker("passthrough", origin, null));
    const dists = opt.stages ? stageDists(DISTS[0]) : [...DISTS];
    const flags = dists.map(() => []);
    if (opt["no-liftoff"]) dists.push(DISTS[0]), flags.push(["--no-liftoff"]);
    // Copies of each build in their own processes, started interleaved
    // (A B A B ...): two processes of one build differ by up to ~5 %.
    const names = dists.map((d, i) => (dists.length > 1 ? `${i}-${path.basename(d)}${flags[i].length ? "-noliftoff" : ""}` : "borderless"));
    for (let k = 0; k < COPIES; k++) {
      for (const [i, d] of dists.entries()) workers.push(await startWorker(COPIES > 1 ? `${names[i]}-c${k}` : names[i], origin, d, {}, flags[i]));
    }
    const r = await cpu(workers, pages);
    if (COPIES > 1) {
      for (const row of Object.values(r)) {
        for (const n of names) {
          const xs = Array.from({ length: COPIES }, (_, k) => row[`${n}-c${k}_net_us`]);
          row[`${n}_net_us`] = xs.reduce((a, b) => a + b, 0) / COPIES;
        }
      }
    }
    console.log(JSON.stringify({ rounds: ROUNDS, copies: COPIES, dists, by_page: r }, null, 1));
  } finally {
    for (const w of workers) w.agent.destroy(), await w.mf.dispose();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
