// Entry point: the Rust worker (build/index.js), wrapped so that an exception
// escaping it (a bug, a Wasm trap) still serves the origin's page untouched.
import { WorkerEntrypoint } from "cloudflare:workers";
import Borderless from "../build/index.js";

// worker-build puts the Rust handlers and exported functions on its
// entrypoint's prototype: the fetch handler and the body pump's calls
// (src/glue/body.rs).
const {
  fetch: rustFetch,
  borderless_body_write: bodyWrite,
  borderless_body_end: bodyEnd,
  borderless_body_drop: bodyDrop,
} = Borderless.prototype;
// The shim rebuilds the Wasm instance after a trap (`criticalError`), but only
// on the way through `new Borderless(...)`, which constructs a second
// entrypoint per request; the handler is called directly while there is no
// trap to recover from. (A panic's hook has the instance rebuilt either way.)
const initState = globalThis.__worker_init_state;
const healthy = () => initState !== undefined && !initState.criticalError;
const trapped = (err) => {
  if (err instanceof WebAssembly.RuntimeError && initState) initState.criticalError = true;
};

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

// Bodies to pump through a page the Rust worker parked carry this header,
// its value the page's id (src/glue/body.rs).
const STREAM_MARK = "x-borderless-stream";
// Bytes per origin read. Each read is a round of promises, so one large read
// beats many of the runtime's default 4 KB chunks; a read still returns as
// soon as any bytes are there, so latency is unchanged.
const READ_BYTES = 256 << 10;
// Read buffers come back when a body ends: reused, not allocated per request.
const spareBuffers = [];

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
      const run = healthy() ? rustFetch.call(this, request) : new Borderless(this.ctx, this.env).fetch(request);
      resp = await Promise.race([run, panicked]);
    } catch (err) {
      inflight.delete(r);
      trapped(err);
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
    const mark = resp.headers.get(STREAM_MARK);
    if (mark === null) {
      inflight.delete(r);
      return resp;
    }
    // A body the worker rewrites: a panic from here on aborts the connection,
    // so the visitor never gets a short page that looks complete.
    const out = new Response(pumped(resp.body, Number(mark), r, path), resp);
    out.headers.delete(STREAM_MARK);
    return out;
  }

  // Cron Trigger: the FX refresh (src/cron.rs). Its errors are logged there;
  // an exception escaping it only fails this run, the old rates stay.
  async scheduled(controller) {
    return new Borderless(this.ctx, this.env).scheduled(controller);
  }
}

// The origin's body through the parked page `id`, as a stream the runtime
// pulls: one read and one synchronous Wasm call per pull (a pull-based
// source costs less per request than a TransformStream and a pump). The
// origin or the visitor breaking off, or a panic (`r.fail`), errors the
// stream: the connection is aborted, never given a faked ending.
function pumped(body, id, r, path) {
  let reader = null;
  let byob = false;
  let buf = null;
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    inflight.delete(r);
    // A buffer still lent to a read is detached (length 0): not reused.
    if (buf?.byteLength === READ_BYTES && spareBuffers.length < 8) spareBuffers.push(buf);
    buf = null;
    try {
      bodyDrop(id);
    } catch {
      // The instance trapped: the page went with it.
    }
  };
  const fail = (controller, err) => {
    settle();
    try {
      controller.error(err);
    } catch {
      // Already closed or errored.
    }
    reader?.cancel(err).catch(() => {});
  };
  return new ReadableStream({
    start(controller) {
      r.fail = (detail) => {
        log("worker_panic", detail, path(), "body");
        fail(controller, new Panic(detail));
      };
      if (body) {
        try {
          reader = body.getReader({ mode: "byob" });
          byob = true;
        } catch {
          reader = body.getReader();
        }
      }
      buf = spareBuffers.pop() ?? new ArrayBuffer(READ_BYTES);
    },
    async pull(controller) {
      try {
        for (;;) {
          if (settled) return;
          const got = reader ? await (byob ? reader.read(new Uint8Array(buf)) : reader.read()) : { done: true };
          if (byob && got.value) buf = got.value.buffer;
          if (settled) return;
          if (got.done) {
            const out = bodyEnd(id);
            if (out.length) controller.enqueue(out);
            settle();
            controller.close();
            return;
          }
          const out = bodyWrite(id, got.value);
          if (out.length) {
            controller.enqueue(out);
            return;
          }
        }
      } catch (err) {
        trapped(err);
        fail(controller, err);
      }
    },
    cancel(reason) {
      settle();
      reader?.cancel(reason).catch(() => {});
    },
  });
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
