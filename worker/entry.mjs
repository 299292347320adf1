// Entry point: the Rust worker (build/index.js), wrapped so that an exception
// escaping it (a bug, a Wasm trap) still serves the origin's page untouched.
import { WorkerEntrypoint } from "cloudflare:workers";
import Borderless from "../build/index.js";

// A Rust panic traps the Wasm instance: the promise the worker returned never
// settles and a body it is streaming never ends. The panic hook
// (src/glue/panic.rs) calls this just before the trap; every request in
// flight in the instance is lost with it, so each one falls open.
const inflight = new Set();
globalThis.__borderless_panic = (detail) => {
  const lost = [...inflight];
  inflight.clear();
  for (const r of lost) r.fail(String(detail));
};

class Panic extends Error {}

// Bodies the Rust worker streams carry this header (src/glue/mod.rs).
const STREAM_MARK = "x-borderless-stream";

export default class extends WorkerEntrypoint {
  async fetch(request) {
    // GET and HEAD have no body, so the request itself can be replayed
    // (no clone: it costs a tee per request).
    const replayable = request.method === "GET" || request.method === "HEAD";
    const spare = replayable ? request : null;
    const path = () => new URL(request.url).pathname;
    // Before the head, a panic rejects `panicked`; after, it aborts the body.
    const r = {};
    const panicked = new Promise((_, reject) => {
      r.fail = (detail) => reject(new Panic(detail));
    });
    inflight.add(r);
    let resp;
    try {
      resp = await Promise.race([new Borderless(this.ctx, this.env).fetch(request), panicked]);
    } catch (err) {
      inflight.delete(r);
      if (err instanceof Panic) log("worker_panic", err.message, path(), "head");
      else log("worker_exception", (err && err.stack) || err, path());
      if (!spare) return new Response("Bad Gateway\n", { status: 502 });
      try {
        return await fetch(originUrl(spare.url, this.env.ORIGIN), {
          method: spare.method,
          headers: strip(spare.headers),
          redirect: "manual",
        });
      } catch (e) {
        // The origin itself is unreachable: say so, briefly.
        log("origin_unreachable", e, path());
        return new Response("Bad Gateway\n", { status: 502 });
      }
    }
    if (!resp.body || !resp.headers.has(STREAM_MARK)) {
      inflight.delete(r);
      return resp;
    }
    // A body the worker streams: a panic from here on aborts the connection,
    // so the visitor never gets a short page that looks complete.
    const abort = new AbortController();
    r.fail = (detail) => {
      log("worker_panic", detail, path(), "body");
      abort.abort(new Panic(detail));
    };
    const { readable, writable } = new TransformStream();
    resp.body
      .pipeTo(writable, { signal: abort.signal })
      .catch(() => {})
      .finally(() => inflight.delete(r));
    const out = new Response(readable, resp);
    out.headers.delete(STREAM_MARK);
    return out;
  }

  // Cron Trigger: the FX refresh (src/cron.rs). Its errors are logged there;
  // an exception escaping it only fails this run, the old rates stay.
  async scheduled(controller) {
    return new Borderless(this.ctx, this.env).scheduled(controller);
  }
}

// One structured line, with a short excerpt of the detail.
function log(event, detail, path, phase) {
  const line = { level: "error", event, detail: String(detail).slice(0, 2000), path };
  if (phase) line.phase = phase;
  console.error(JSON.stringify(line));
}

function originUrl(url, origin) {
  if (!origin) return url;
  const u = new URL(url);
  const o = new URL(origin);
  u.protocol = o.protocol;
  u.host = o.host;
  return u.toString();
}

// Preview headers (and the token) never reach the origin.
function strip(headers) {
  const h = new Headers(headers);
  for (const name of [...h.keys()]) if (name.startsWith("x-borderless-")) h.delete(name);
  return h;
}
