// (a) of the benchmark: the cheapest worker in front of the origin. Its CPU
// per request is what every worker pays anyway; the others are reported net of it.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new URL(url.pathname + url.search, env.ORIGIN), request);
  },
};
