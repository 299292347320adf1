// Entry point: the Rust worker (build/index.js), wrapped so that an exception
// escaping it (a bug, a Wasm trap) still serves the origin's page untouched.
import { WorkerEntrypoint } from "cloudflare:workers";
import Borderless from "../build/index.js";

export default class extends WorkerEntrypoint {
  async fetch(request) {
    // GET and HEAD have no body, so the request itself can be replayed
    // (no clone: it costs a tee per request).
    const replayable = request.method === "GET" || request.method === "HEAD";
    const spare = replayable ? request : null;
    try {
      return await new Borderless(this.ctx, this.env).fetch(request);
    } catch (err) {
      console.error(JSON.stringify({
        level: "error",
        event: "worker_exception",
        detail: String((err && err.stack) || err).slice(0, 2000),
        path: new URL(request.url).pathname,
      }));
      if (!spare) return new Response("Bad Gateway\n", { status: 502 });
      try {
        return await fetch(originUrl(spare.url, this.env.ORIGIN), {
          method: spare.method,
          headers: strip(spare.headers),
          redirect: "manual",
        });
      } catch (e) {
        // The origin itself is unreachable: say so, briefly.
        console.error(JSON.stringify({
          level: "error",
          event: "origin_unreachable",
          detail: String(e).slice(0, 240),
          path: new URL(request.url).pathname,
        }));
        return new Response("Bad Gateway\n", { status: 502 });
      }
    }
  }

  // Cron Trigger: the FX refresh (src/cron.rs). Its errors are logged there;
  // an exception escaping it only fails this run, the old rates stay.
  async scheduled(controller) {
    return new Borderless(this.ctx, this.env).scheduled(controller);
  }
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
