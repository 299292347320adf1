// Helpers the personalization e2e tests share: the worker's experiment
// bucket (to pick visitor ids), the blocks of a page, an HTML checker for
// anything executable, and the XSS corpus.

/** The worker's bucket (src/experiment.rs): FNV-1a 64 of `id \0 salt`, then a finalizer. */
export function bucket(id, salt) {
  const M = 0xffffffffffffffffn;
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.concat([Buffer.from(id), Buffer.from([0]), Buffer.from(salt)])) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & M;
  }
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M;
  h ^= h >> 33n;
  return Number(h >> 11n) / 2 ** 53;
}

export const hexId = (i) => i.toString(16).padStart(32, "0");
const HOLDOUT = "\u0000holdout";
/** A visitor id with the wanted holdout membership and `recs-source` arm. */
export function visitorId({ holdout = false, arm = "segment" } = {}) {
  for (let i = 1; ; i++) {
    const id = hexId(i * 7919);
    if (bucket(id, HOLDOUT) < 0.1 !== holdout) continue;
    if (holdout) return id;
    if ((bucket(id, "recs-source") * 2 < 1 ? "segment" : "trending") === arm) return id;
  }
}

/** data-borderless-block → product ids, from a page or explain html. */
export function blocksOf(html) {
  const out = {};
  for (const m of html.matchAll(/<div class="borderless-block[^"]*"[^>]*>/g)) {
    const kind = /data-borderless-block="([^"]*)"/.exec(m[0])[1];
    const products = /data-borderless-products="([^"]*)"/.exec(m[0]);
    const promo = /data-borderless-promo="([^"]*)"/.exec(m[0]);
    out[kind] = products ? products[1].split(" ") : promo[1];
  }
  return out;
}

/**
 * Everything a browser would run in `html`: script-like elements, event
 * handler attributes, and javascript:/data:/vbscript: URLs. A small HTML
 * tokenizer (comments, quoted and unquoted attributes, raw-text elements).
 */
export function executable(html) {
  const found = [];
  let i = 0;
  const lower = html.toLowerCase();
  while ((i = html.indexOf("<", i)) >= 0) {
    if (html.startsWith("<!--", i)) {
      const end = html.indexOf("-->", i + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const m = /^<([a-zA-Z][^\s/>]*)/.exec(html.slice(i, i + 64));
    if (!m) {
      i++;
      continue;
    }
    const tag = m[1].toLowerCase();
    let j = i + m[0].length;
    const attrs = [];
    while (j < html.length && html[j] !== ">") {
      if (/[\s/]/.test(html[j])) {
        j++;
        continue;
      }
      let name = "";
      while (j < html.length && !/[\s/>=]/.test(html[j])) name += html[j++];
      if (!name) name = html[j++];
      while (/\s/.test(html[j] || "")) j++;
      let value = "";
      if (html[j] === "=") {
        j++;
        while (/\s/.test(html[j] || "")) j++;
        const q = html[j];
        if (q === '"' || q === "'") {
          const end = html.indexOf(q, j + 1);
          value = html.slice(j + 1, end < 0 ? html.length : end);
          j = end < 0 ? html.length : end + 1;
        } else {
          while (j < html.length && !/[\s>]/.test(html[j])) value += html[j++];
        }
      }
      attrs.push([name.toLowerCase(), value]);
    }
    if (["script", "iframe", "object", "embed", "svg", "math", "base", "frame", "applet"].includes(tag)) found.push(`<${tag}>`);
    for (const [n, v] of attrs) {
      const decoded = v.replace(/&#(x?)([0-9a-f]+);?/gi, (_, x, d) => String.fromCodePoint(parseInt(d, x ? 16 : 10))).replace(/[\s\u0000-\u001f]/g, "");
      if (n.startsWith("on") || n === "style" || n === "srcdoc") found.push(`<${tag} ${n}="${v}">`);
      if (["href", "src", "action", "formaction", "xlink:href", "data", "poster"].includes(n) && /^(javascript|data|vbscript):/i.test(decoded)) {
        found.push(`<${tag} ${n}="${v}">`);
      }
    }
    // Raw text: skip to the end tag.
    if (["script", "style", "title", "textarea", "xmp", "noscript"].includes(tag)) {
      const end = lower.indexOf(`</${tag}`, j);
      i = end < 0 ? html.length : end;
    } else i = j + 1;
  }
  return found;
}

// ---------- XSS corpus ----------

export const XSS = [
  "<script>alert(1)</script>",
  "<SCRIPT SRC=https://xss.test/xss.js></SCRIPT>",
  "<IMG SRC=\"javascript:alert('XSS');\">",
  "<IMG SRC=JaVaScRiPt:alert('XSS')>",
  "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
  '<a onmouseover="alert(document.cookie)">xxs link</a>',
  '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
  "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
  "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
  "<IMG SRC=\"jav\tascript:alert('XSS');\">",
  '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
  '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
  '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
  "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
  "<svg/onload=alert('XSS')>",
  '"><script>alert(1)</script>',
  "'><img src=x onerror=alert(1)>",
  "</title><script>alert(1)</script>",
  "--><script>alert(1)</script><!--",
  "javascript:alert(1)",
  "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
  '<div style="background:url(javascript:alert(1))">',
  "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
  '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
  "%3Cscript%3Ealert(1)%3C/script%3E",
  "\uFF1Cscript\uFF1Ealert(1)\uFF1C/script\uFF1E",
  "{title}{price}{{id}}{holiday}",
];

