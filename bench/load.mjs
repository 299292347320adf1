// `make load`: a bounded load run on loopback only. The built worker (dist/)
// in workerd with the demo bundle, in front of the demo store; wrk with a
// fixed number of connections for a fixed time (it stops by itself) and a
// mix of pages and visitors (countries, devices, languages, consent,
// returning visitors with profiles). Reports requests/s, errors, latency
// percentiles and workerd's RSS over time (bench/out/load.json, and a
// markdown table for BENCHMARKS.md).
//
// Env: LOAD_SECONDS (per round, default 40), LOAD_ROUNDS (3),
// LOAD_CONNECTIONS (8), LOAD_THREADS (2).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import WebSocket from "ws";
import {
  ROOT,
  DEMO_BUNDLE_PATH,
  startDemoOrigin,
  startWorker,
  request,
  CF,
  childWorkerdPids,
  memoryOf,
  sleep,
} from "../tests/e2e/harness.mjs";

const run = promisify(execFile);
const SECONDS = Number(process.env.LOAD_SECONDS || 40);
const ROUNDS = Number(process.env.LOAD_ROUNDS || 3);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS || 8);
const THREADS = Number(process.env.LOAD_THREADS || 2);
const OUT = path.join(ROOT, "bench", "out");
// apt's wrk by its path: a PATH lookup through node_modules/.bin can fail.
const WRK = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((p) => fs.existsSync(p)) || "wrk";
fs.mkdirSync(OUT, { recursive: true });

const origin = await startDemoOrigin();
// The inspector tells apart what RSS mixes: V8's heap and the Wasm linear memory.
const INSPECTOR_PORT = 9239;
const worker = await startWorker({ origin: origin.url, bundle: DEMO_BUNDLE_PATH, preview: "off", miniflare: { inspectorPort: INSPECTOR_PORT } });
const result = { seconds: SECONDS, rounds: [], connections: CONNECTIONS, threads: THREADS, rss: [] };
try {
  const base = new URL(worker.base);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(base.hostname)) throw new Error(`not loopback: ${base}`);
  const pids = childWorkerdPids();
  if (pids.length !== 1) throw new Error(`expected one workerd, found ${pids.length}`);
  const pid = pids[0];

  // Pages of the demo store: home, categories, products (from its own links).
  const home = await (await fetch(`${origin.url}/`)).text();
  const links = [...new Set([...home.matchAll(/href="(\/(?:p|c)\/[^"?#]*)"/g)].map((m) => m[1]))];
  const paths = ["/", "/cart", ...links.slice(0, 40)];
  if (paths.length < 10) throw new Error(`too few demo pages (${paths.length})`);
  const script = path.join(OUT, "load.lua");
  fs.writeFileSync(script, lua(paths));

  // The worker really rewrites (the demo bundle is loaded).
  const check = await request(worker.base, "/", { cf: CF.DE });
  if (check.status !== 200 || !check.body.toString().includes('lang="de-DE"')) throw new Error("the worker does not localize the demo");

  // Warm-up (isolate caches, JIT), then rounds back to back; RSS every 2 s.
  await wrk(base, script, 5);
  const isolate = await inspect(INSPECTOR_PORT);
  result.isolate = [];
  const t0 = Date.now();
  let n = 0;
  const sample = async () => {
    const m = memoryOf(pid);
    const t = Math.round((Date.now() - t0) / 1000);
    if (m) result.rss.push({ t, rss_mb: +(m.rss / 2 ** 20).toFixed(1) });
    if (n++ % 5 === 0) result.isolate.push({ t, ...(await isolate.memory()) });
  };
  await sample();
  const timer = setInterval(sample, 2000);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const out = await wrk(base, script, SECONDS);
      const round = parse(out);
      round.rss_end_mb = +(memoryOf(pid).rss / 2 ** 20).toFixed(1);
      result.rounds.push(round);
      console.log(
        `[load] round ${r + 1}: ${round.requests_per_s} req/s, ${round.errors} errors, p50 ${round.latency_ms.p50} ms, p99 ${round.latency_ms.p99} ms, workerd RSS ${round.rss_end_mb} MB`,
      );
    }
  } finally {
    clearInterval(timer);
  }
  // Idle: does memory come back down?
  await sleep(10_000);
  n = 0;
  await sample();
  isolate.close();
  result.paths = paths.length;
  fs.writeFileSync(path.join(OUT, "load.json"), JSON.stringify(result, null, 2));
  const section = markdown(result);
  console.log(section);
  // Its own section of BENCHMARKS.md (bench/report.mjs keeps it on `make bench`).
  fs.writeFileSync(path.join(ROOT, "bench", "load.md"), section + "\n");
  const file = path.join(ROOT, "BENCHMARKS.md");
  const md = fs.readFileSync(file, "utf8");
  const start = md.indexOf("\n## Load");
  const next = md.indexOf("\n## ", start + 1);
  const at = md.indexOf("\n## Reproduce");
  const out =
    start >= 0
      ? md.slice(0, start + 1) + section + "\n" + (next >= 0 ? md.slice(next) : "")
      : md.slice(0, at + 1) + section + "\n" + md.slice(at);
  fs.writeFileSync(file, out);
} finally {
  await worker.close();
  await origin.close();
}

/** The worker's isolate over workerd's inspector: V8 heap in use, and the size of every Wasm memory (MB). */
async function inspect(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = list.find((t) => t.id.startsWith("core:user:"));
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => (ws.on("open", ok), ws.on("error", fail)));
  let id = 0;
  const pending = new Map();
  let context = null;
  ws.on("message", (m) => {
    const x = JSON.parse(m);
    if (x.method === "Runtime.executionContextCreated") context = x.params.context.id;
    if (x.id && pending.has(x.id)) pending.get(x.id)(x.result ?? {}), pending.delete(x.id);
  });
  const call = (method, params = {}) => new Promise((ok) => (pending.set(++id, ok), ws.send(JSON.stringify({ id, method, params }))));
  await call("Runtime.enable");
  const mb = (b) => +(b / 2 ** 20).toFixed(1);
  return {
    async memory() {
      const heap = await call("Runtime.getHeapUsage");
      const proto = await call("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype", contextId: context });
      const found = await call("Runtime.queryObjects", { prototypeObjectId: proto.result.objectId });
      const sizes = await call("Runtime.callFunctionOn", {
        objectId: found.objects.objectId,
        functionDeclaration: "function () { return this.map((m) => m.buffer.byteLength); }",
        returnByValue: true,
      });
      return { v8_heap_used_mb: mb(heap.usedSize ?? NaN), v8_heap_total_mb: mb(heap.totalSize ?? NaN), wasm_memory_mb: (sizes.result?.value ?? []).map(mb) };
    },
    close: () => ws.close(),
  };
}

async function wrk(base, script, seconds) {
  const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "--timeout", "10s", "--latency", "-s", script, base.toString()];
  const { stdout } = await run(WRK, args, { timeout: (seconds + 60) * 1000 });
  return stdout;
}

function parse(out) {
  const num = (re) => Number(re.exec(out)?.[1] ?? NaN);
  const ms = (v, unit) => (unit === "us" ? v / 1000 : unit === "s" ? v * 1000 : v);
  const pct = {};
  for (const m of out.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$/gm)) pct[`p${m[1]}`] = +ms(Number(m[2]), m[3]).toFixed(2);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socket = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/) || 0;
  return {
    requests: num(/(\d+) requests in/),
    requests_per_s: Math.round(num(/Requests\/sec:\s+([\d.]+)/)),
    errors: socket + non2xx,
    non_2xx_3xx: non2xx,
    socket_errors: socket,
    latency_ms: pct,
  };
}

// wrk script: each request picks a page and a visitor (country via
// Miniflare's MF-CF-Blob, device, language, consent, a returning visitor's
// cookies); the cart is excluded by the demo config (passthrough).
function lua(paths) {
  const visitors = [
    ["DE", "de-DE,de;q=0.9", "borderless_consent=yes", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"],
    ["GB", "en-GB,en;q=0.9", "", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15"],
    ["JP", "ja-JP,ja;q=0.9", "borderless_consent=yes", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"],
    ["AE", "ar-AE,ar;q=0.9", "", "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36"],
    ["FR", "fr-FR,fr;q=0.9", "borderless_consent=yes; borderless_currency=CHF", "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0"],
    ["US", "en-US,en;q=0.9", "borderless_vid=0123456789abcdef0123456789abcdef; borderless_locale=es-ES", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"],
    ["NL", "nl-NL", "borderless_consent=yes; borderless_vid=fedcba9876543210fedcba9876543210", "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) Safari/604.1"],
    ["CH", "de-CH,fr-CH;q=0.8", "", "Googlebot/2.1 (+http://www.google.com/bot.html)"],
  ];
  const q = (s) => JSON.stringify(s);
  return `-- Generated by bench/load.mjs.
local paths = {${paths.map(q).join(", ")}}
local visitors = {
${visitors.map(([c, al, ck, ua]) => `  {${q(JSON.stringify({ country: c }))}, ${q(al)}, ${q(ck)}, ${q(ua)}},`).join("\n")}
}
math.randomseed(42)
request = function()
  local v = visitors[math.random(#visitors)]
  local h = { ["MF-CF-Blob"] = v[1], ["Accept-Language"] = v[2], ["User-Agent"] = v[4] }
  if v[3] ~= "" then h["Cookie"] = v[3] end
  return wrk.format("GET", paths[math.random(#paths)], h)
end
`;
}

function markdown(r) {
  const first = r.rss[0]?.rss_mb;
  const peak = Math.max(...r.rss.map((x) => x.rss_mb));
  const lines = [
    "## Load (`make load`)",
    "",
    `Generated by \`make load\` (bench/load.mjs) on ${new Date().toISOString().slice(0, 10)}: wrk on loopback against the built worker (dist/) in workerd with the demo bundle, in front of the demo store; ${r.paths} pages (home, cart, categories, products) × 8 visitors (countries, devices, languages, consent, returning visitors, a crawler), ${r.rounds.length} rounds back to back after a 5 s warm-up. The machine is shared (2 cores): the figures are for memory and errors, not for throughput.`,
    "",
    `| round (${r.seconds} s, ${r.connections} connections, ${r.threads} threads) | requests/s | errors | p50 ms | p90 ms | p99 ms | workerd RSS at end (MB) |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...r.rounds.map(
      (x, i) => `| ${i + 1} | ${x.requests_per_s} | ${x.errors} | ${x.latency_ms.p50} | ${x.latency_ms.p90} | ${x.latency_ms.p99} | ${x.rss_end_mb} |`,
    ),
  ];
  const curve = r.rss.filter((_, i) => i % 5 === 0 || i === r.rss.length - 1).map((s) => `${s.t}s ${s.rss_mb}`);
  lines.push("", `workerd RSS (MB) every 10 s: ${curve.join(", ")}; first ${first}, peak ${peak}, after 10 s idle ${r.rss.at(-1)?.rss_mb}.`);
  if (r.isolate?.length) {
    const iso = r.isolate.map((x) => `${x.t}s ${x.v8_heap_used_mb}/${x.wasm_memory_mb.join("+")}`);
    lines.push("", `Inside the isolate (workerd's inspector), V8 heap in use / Wasm linear memory (MB): ${iso.join(", ")}.`);
  }
  lines.push("", "The worker's own isolate caches are bounded (256 keys and 16 MiB of value text; the demo bundle is 47 keys of at most 20 KB), so they are not what grows here; RSS that stays up when idle is V8's heap and the Wasm linear memory (which never shrinks).");
  return lines.join("\n");
}
