// Entry point: the Rust worker (build/index.js), wrapped so that an exception
// escaping it (a bug, a Wasm trap) still serves the origin's page untouched.
import Borderless from "../build/index.js";

// worker-build puts the Rust handlers and exported functions on its
// entrypoint's prototype: the fetch handler and the body pump's calls
// (src/glue/body.rs).
const {
  borderless_fetch: rustFetch,
  borderless_start: rustStart,
  borderless_origin: rustOrigin,
  borderless_reads: rustReads,
  borderless_pending_drop: pendingDrop,
  borderless_body_write: bodyWrite,
  borderless_body_end: bodyEnd,
  borderless_body_whole: bodyWhole,
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
// Bumped by every panic: the instance is rebuilt, so page ids handed out
// before it are void (the new instance hands them out again).
let generation = 0;

// A request in flight. Before the head, a panic marks it: each await of
// the synchronous path checks the mark when it settles, and the async
// handler's promise (which never settles after a trap) races `panicked()`.
// In the body, `pumped` replaces `fail`: the stream is aborted.
class InFlight {
  panic = null;
  wake = null;
  gen = generation;
  // Whether this request's page ids still name pages of the live instance.
  current() {
    return this.gen === generation;
  }
  fail(detail) {
    this.panic = new Panic(detail);
    this.wake?.(this.panic);
  }
  check() {
    if (this.panic) throw this.panic;
  }
  panicked() {
    return new Promise((_, reject) => {
      if (this.panic) reject(this.panic);
      else this.wake = reject;
    });
  }
}
globalThis.__borderless_panic = (detail) => {
  generation += 1;
  const lost = [...inflight];
  inflight.clear();
  for (const r of lost) r.fail(String(detail));
};

class Panic extends Error {
  // Whether the response head or its body was being made.
  phase = "head";
}

// Bodies to pump through a page the Rust worker parked carry this header,
// its value the page's id (src/glue/body.rs).
const STREAM_MARK = "x-borderless-stream";
// Bytes per origin read. Each read is a round of promises, so one large read
// beats many of the runtime's default 4 KB chunks; a read still returns as
// soon as any bytes are there, so latency is unchanged.
const READ_BYTES = 256 << 10;
// A body the origin declares at most this long is read whole, in one call.
const SMALL_BYTES = 16 << 10;
// Read buffers come back when a body ends: reused, not allocated per request.
const spareBuffers = [];

// A plain module handler, not a `WorkerEntrypoint` class: the runtime
// would construct the class anew for every request.
export default {
  async fetch(request, env, ctx) {
    // GET and HEAD have no body, so the request itself can be replayed
    // (no clone: it costs a tee per request).
    // Each read of a request's or response's field is a runtime call: each
    // is made once (the request's here, the origin response's in `direct`).
    const method = request.method;
    const replayable = method === "GET" || method === "HEAD";
    const spare = replayable ? request : null;
    const path = () => new URL(request.url).pathname;
    const r = new InFlight();
    inflight.add(r);
    let out;
    try {
      const headers = request.headers;
      const seen = { method, headers, lines: requestLines(headers), cf: cfLine(request) };
      // The synchronous handler first; the async one when it declines (a KV
      // read to make, a proxy, the beacon) or after a trap.
      out = healthy() ? await direct(request, seen, env, r, path) : undefined;
      if (out === undefined) {
        const run = healthy()
          ? rustFetch(request, env, seen.lines, seen.cf)
          : new Borderless(ctx, env).fetch(request);
        out = marked(await Promise.race([run, r.panicked()]));
      }
    } catch (err) {
      inflight.delete(r);
      trapped(err);
      // A panic traps the instance: the call throws a RuntimeError after the
      // hook has recorded the panic.
      const e = r.panic ?? err;
      if (e instanceof Panic) log("worker_panic", e.message, path(), e.phase);
      else if (!(e instanceof OriginError)) log("worker_exception", (e && e.stack) || e, path());
      return fallback(spare, env, path);
    }
    if (out.response) {
      inflight.delete(r);
      return out.response;
    }
    // A body the worker rewrites.
    const { id, whole, respond } = out;
    if (out.body && whole > 0 && whole <= SMALL_BYTES) {
      // A body the origin declared small (a few packets: it comes in about
      // the time of a read): read in one call, no reader, and sent as bytes
      // (~70 µs a request less than a read). Nothing has gone out yet, so a
      // failure here serves the origin's page.
      let at = "origin";
      try {
        const buf = new Uint8Array(await out.source.arrayBuffer());
        r.check();
        at = "worker";
        const bytes = bodyWhole(id, buf);
        inflight.delete(r);
        return respond(bytes);
      } catch (err) {
        wholeFailed(r, id, err, at, path);
        return fallback(spare, env, path);
      }
    }
    const src = reading(out.body);
    let first = null;
    if (src.reader && whole > 0 && whole <= READ_BYTES) {
      // A body the origin declared small: its first read, which the stream
      // would make first anyway. When that read holds all of it, the page
      // goes out as bytes, with no JS-backed stream (~190 µs a request).
      // Nothing has gone out yet, so a failure here serves the origin's page.
      let at = "origin";
      try {
        first = await src.read();
        r.check();
        if (!first.done && first.value.byteLength === whole) {
          at = "worker";
          const bytes = bodyWhole(id, first.value);
          inflight.delete(r);
          src.release();
          return respond(bytes);
        }
      } catch (err) {
        src.reader.cancel(err).catch(() => {});
        src.release();
        wholeFailed(r, id, err, at, path);
        return fallback(spare, env, path);
      }
    }
    // From here on a panic aborts the connection, so the visitor never gets a
    // short page that looks complete.
    return respond(pumped(src, first, id, r, path));
  },

  // Cron Trigger: the FX refresh (src/cron.rs). Its errors are logged there;
  // an exception escaping it only fails this run, the old rates stay.
  async scheduled(controller, env, ctx) {
    return new Borderless(ctx, env).scheduled(controller);
  },
};

class OriginError extends Error {}

// A page sent whole failed before any byte went out (the origin's body, or
// the worker at `at`): the page dropped and the failure logged; the caller
// serves the origin's page.
function wholeFailed(r, id, err, at, path) {
  inflight.delete(r);
  dropPage(r, bodyDrop, id);
  trapped(err);
  const e = r.panic ?? err;
  if (e instanceof Panic) log("worker_panic", e.message, path(), "body");
  else if (at === "worker") log("worker_exception", (e && e.stack) || e, path());
  else log("origin_body_error", e, path());
}

// Page `id` dropped with `drop` (a parked page or a body), if it is still
// the live instance's.
function dropPage(r, drop, id) {
  try {
    if (r.current()) drop(id);
  } catch {
    // The instance trapped: the page went with it.
  }
}

// The synchronous handler (src/glue/sync.rs): `{ response }`, or a body to
// rewrite (`{ id, whole, body, respond }`); undefined where it declines. The
// origin request is sent from here and one response is built here. `seen`:
// the request's method, headers, header lines and `cf` line.
async function direct(request, seen, env, r, path) {
  const { method, cf } = seen;
  // One argument, encoded here: wasm-bindgen copies a string argument into
  // Wasm memory a character at a time in JS.
  const started = rustStart(env, encoder.encode(method + "\n" + request.url + "\n" + (cf ?? "") + "\n" + seen.lines));
  if (started === undefined) return undefined;
  const { s, body: answer } = reply(started);
  let nl = s.indexOf("\n");
  const [kind, arg] = s.slice(0, nl).split(" ");
  if (kind === "A") return { response: answered(s, answer, arg, nl) };
  const id = Number(arg);
  const urlEnd = s.indexOf("\n", nl + 1);
  const forget = () => dropPage(r, pendingDrop, id);
  let headers;
  try {
    // No edits (the usual case): the request's own headers, which the
    // runtime copies into the origin request anyway.
    headers = urlEnd + 1 < s.length ? edited(seen.headers, s, urlEnd + 1) : seen.headers;
  } catch (err) {
    forget();
    throw err;
  }
  let origin;
  try {
    const sent = fetch(s.slice(nl + 1, urlEnd), { method, headers, redirect: "manual" });
    origin = await sent;
  } catch (err) {
    forget();
    throw new OriginError(String(err));
  }
  if (r.panic) {
    // The instance trapped while the origin answered (its page went with it).
    origin.body?.cancel().catch(() => {});
    throw r.panic;
  }
  // A small HTML body is read before phase two, which then rewrites it in
  // the same call (`W`): one Wasm call for the page, on warm code, no page
  // parked. Nothing has gone out: a failure serves the origin's page.
  let buf = null;
  const status = origin.status;
  const originHeaders = origin.headers;
  const head = originHead(origin, originHeaders);
  if (method === "GET" && head.small) {
    try {
      buf = new Uint8Array(await origin.arrayBuffer());
    } catch (err) {
      forget();
      log("origin_body_error", err, path());
      throw new OriginError(String(err));
    }
    if (r.panic) throw r.panic;
  }
  let got, rest;
  try {
    ({ s: got, body: rest } = reply(rustOrigin(id, status, encoder.encode(head.lines), buf ?? undefined)));
  } catch (err) {
    origin.body?.cancel().catch(() => {});
    // With a body read whole, the call was rewriting it too.
    if (buf && r.panic) r.panic.phase = "body";
    throw err;
  }
  nl = got.indexOf("\n");
  const [k, x, y] = got.slice(0, nl).split(" ");
  if (k === "A") {
    origin.body?.cancel().catch(() => {});
    return { response: answered(got, rest, x, nl) };
  }
  // The response to a body: the origin's headers copied once, into the
  // response, and edited there. The origin's own body, read whole, keeps
  // its status text too.
  const respond = (body, statusText) => {
    const resp = new Response(body, { status, statusText, headers: originHeaders });
    applyEdits(resp.headers, got, nl + 1);
    return resp;
  };
  if (k === "W") return { response: respond(rest) };
  if (k === "P" && buf) return { response: respond(buf, origin.statusText) };
  if (k === "P" && nl + 1 === got.length) return { response: origin };
  if (k === "P") {
    const i = { status, headers: edited(originHeaders, got, nl + 1) };
    // A WebSocket the origin accepted goes on to the visitor.
    if (status === 101 && origin.webSocket) i.webSocket = origin.webSocket;
    return { response: new Response(origin.body, i) };
  }
  // `R`: a body read whole is never parked (`W`), so this one is unread.
  if (buf) throw new Error(`page ${x}: parked after its body was read`);
  return { id: Number(x), whole: Number(y), body: origin.body, source: origin, respond };
}

// The bytes a handler call answers (src/glue/sync.rs): the length of its
// text (4 bytes, little-endian), the text `s` (lines), then the `body`'s
// bytes (`A`, `W`; empty for the others).
function reply(bytes) {
  const end = 4 + ((bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0);
  return { s: decoder.decode(bytes.subarray(4, end)), body: bytes.subarray(end) };
}

// The origin's headers (`h`) the Rust side reads, as `lines`, and whether its
// body is `small`, to be read whole before phase two: declared at most
// `SMALL_BYTES`, not content-coded (its length is then the bytes'), HTML.
// One read of each header (the type, coding and length are among them).
function originHead(origin, h) {
  let s = "";
  let type = "";
  let coded = false;
  let length = 0;
  for (const n of reads().origin) {
    const v = h.get(n);
    if (v === null) continue;
    s += n + ":" + v + "\n";
    if (n === "content-type") type = v;
    else if (n === "content-encoding") coded = true;
    else if (n === "content-length") length = Number(v);
  }
  const small = origin.body !== null && !coded && type.includes("html") && length > 0 && length <= SMALL_BYTES;
  return { lines: s, small };
}

// The async handler's response: as it is, or a body to rewrite when it
// carries the stream mark (`<id>` or `<id> <length>`), which is removed.
function marked(resp) {
  const mark = resp.headers.get(STREAM_MARK);
  if (mark === null) return { response: resp };
  const [id, whole] = mark.split(" ").map(Number);
  const headers = new Headers(resp.headers);
  headers.delete(STREAM_MARK);
  const init = { status: resp.status, statusText: resp.statusText, headers };
  return { id, whole, body: resp.body, source: resp, respond: (body) => new Response(body, init) };
}

// `headers` with the edit lines of `s` from `at` on (`applyEdits`).
const edited = (headers, s, at) => applyEdits(new Headers(headers), s, at);

// The edit lines of `s` from `at` on applied to `h`, which it returns: `s`,
// `a` or `d`, the name, `:`, the value.
function applyEdits(h, s, at) {
  while (at < s.length) {
    let end = s.indexOf("\n", at);
    if (end < 0) end = s.length;
    const colon = s.indexOf(":", at);
    const name = s.slice(at + 1, colon);
    const op = s[at];
    if (op === "s") h.set(name, s.slice(colon + 1, end));
    else if (op === "a") h.append(name, s.slice(colon + 1, end));
    else h.delete(name);
    at = end + 1;
  }
  return h;
}

// The worker's own answer: `A <status>`, its headers as edit lines in `s`
// (from `nl`), and its body's bytes (no content type of its own).
function answered(s, body, status, nl) {
  const headers = edited(undefined, s, nl + 1);
  const code = Number(status);
  return new Response(NULL_BODY.has(code) ? null : body, { status: code, headers });
}
const NULL_BODY = new Set([101, 204, 205, 304]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// What the Rust side reads (names fixed for the isolate's life): a header
// by name costs less than listing all, and the runtime's `cf` has ~40 fields.
let names = null;
function reads() {
  if (names === null) {
    const [request, cf, origin] = rustReads().split("\n").map((l) => l.split(","));
    names = { request, cf: cf.map((k) => [k, k.split(".")]), origin };
  }
  return names;
}

// The headers of `list` present in `headers`, as one string of `name:value`
// lines for the Rust side (values hold no line breaks: the runtime refuses
// them). A call from Wasm per header costs more.
function lines(headers, list) {
  let s = "";
  for (const n of list) {
    const v = headers.get(n);
    if (v !== null) s += n + ":" + v + "\n";
  }
  return s;
}
const requestLines = (headers) => lines(headers, reads().request);

// The origin's page again, untouched, for a request the worker failed; a
// request with a body (`spare` null) cannot be sent again.
async function fallback(spare, env, path) {
  if (!spare) return new Response("Bad Gateway\n", { status: 502 });
  try {
    return await fetch(originUrl(spare.url, env.ORIGIN), {
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

// Reads of the origin's body (none if it has none) into a reused buffer;
// BYOB where the runtime offers it.
function reading(body) {
  let reader = null;
  let byob = false;
  if (body) {
    try {
      reader = body.getReader({ mode: "byob" });
      byob = true;
    } catch {
      reader = body.getReader();
    }
  }
  const src = {
    reader,
    buf: spareBuffers.pop() ?? new ArrayBuffer(READ_BYTES),
    async read() {
      if (!reader) return { done: true };
      const got = await (byob ? reader.read(new Uint8Array(src.buf)) : reader.read());
      if (byob && got.value) src.buf = got.value.buffer;
      return got;
    },
    // The buffer back to the spares: a buffer still lent to a read is
    // detached (length 0), not reused.
    release() {
      if (src.buf?.byteLength === READ_BYTES && spareBuffers.length < 8) spareBuffers.push(src.buf);
      src.buf = null;
    },
  };
  return src;
}

// The origin's body through the parked page `id`, as a stream the runtime
// pulls: one read and one synchronous Wasm call per pull (a pull-based
// source costs less per request than a TransformStream and a pump), after
// `first`, a read already made. The origin or the visitor breaking off, or a
// panic (`r.fail`), errors the stream: the connection is aborted, never given
// a faked ending.
function pumped(src, first, id, r, path) {
  const reader = src.reader;
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    inflight.delete(r);
    src.release();
    dropPage(r, bodyDrop, id);
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
    },
    async pull(controller) {
      try {
        for (;;) {
          if (settled) return;
          let got = first;
          first = null;
          if (!got) got = await src.read();
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

// `request.cf` as one line of `key:value` fields joined by tabs, only the
// fields the Rust side reads (production's object has ~40), a nested one
// by its path (`botManagement.verifiedBot`): strings, numbers and
// booleans, a value with a control character left out. Parsed by hand in
// Wasm (`Geo::from_cf`), where JSON would run a parser on every request.
function cfLine(request) {
  const cf = request.cf;
  if (!cf || typeof cf !== "object") return undefined;
  let s = "";
  for (const [key, path] of reads().cf) {
    let v = cf;
    for (const p of path) v = v !== null && typeof v === "object" ? v[p] : undefined;
    const t = typeof v;
    if (t !== "string" && t !== "number" && t !== "boolean") continue;
    const text = String(v);
    if (CONTROL.test(text)) continue;
    s += (s ? "\t" : "") + key + ":" + text;
  }
  return s;
}
const CONTROL = /[\x00-\x1f\x7f]/;

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
