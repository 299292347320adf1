import { startOrigin } from "./origin.mjs";
import { startWorker, CF, childWorkerdPids, memoryOf, resetPeak } from "./harness.mjs";
const o = await startOrigin();
const w = await startWorker({ origin: o.url });
const pids = childWorkerdPids();
const H = { cf: CF.DE, headers: { "x-borderless-now": "2026-12-24T18:30:00Z" } };
await w.request("/html", H);
for (const mb of [256]) {
  resetPeak(pids[0]);
  const m0 = memoryOf(pids[0]);
  const trace = [];
  const iv = setInterval(() => trace.push(Math.round(memoryOf(pids[0]).rss / 1048576)), 200);
  const t0 = Date.now();
  const r = await w.stream(`/big?mb=${mb}`, H);
  clearInterval(iv);
  const m1 = memoryOf(pids[0]);
  console.log(mb, "MB", r.bytes, Date.now() - t0, "ms growth MB", ((m1.hwm - m0.rss) / 1048576).toFixed(1), (m0.rss/1048576).toFixed(0), trace.join(' '));
}
await w.close(); await o.close();
