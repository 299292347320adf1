// Borderless, the reference JavaScript worker: the translation memory
// (benchmark, issue 14) — what a user would write on HTMLRewriter to
// translate a page's own text from the memory the product builds, as the
// Rust worker does it (src/rewrite/tm/: segment, notation, entities, memory,
// post).
//
// The memory: per locale the KV value `b/<bundle>/tm/<locale>` (the base) and,
// when the config's `localization.translation.shards` names N > 0 shards,
// `tm/<locale>.<k>` with k = FNV-1a 32 of the page path (trailing `/`
// trimmed) mod N. Entries map a key — FNV-1a 64 (hex) of a source segment's
// notation — to the target notation.
//
// How a page is translated while it streams:
//  - HTMLRewriter handlers (`*` elements, document text, comments, end) cut
//    the page into segments — text and inline elements (`a`, `span`, `b`, …,
//    `br`) between block boundaries — record what they saw, and wrap each
//    candidate in comment markers `<!--tm<nonce>s<id>-->` …
//    `<!--tm<nonce>e<id>-->` (a random nonce per page); attributes a visitor
//    reads (`title`, `alt`, meta descriptions, …) are translated in place;
//  - a post-processor on the rewriter's output (a pull stream reading it in
//    batches of 16 KB or more with readAtLeast) strips the markers, buffers
//    only a segment's bytes (bounded) and emits the memory's translation —
//    text escaped, inline tags the origin's own bytes in the target's order,
//    numbers the page's — or the origin's bytes unchanged;
//  - a segment whose bytes are not what the handlers saw (another handler
//    rewrote its text: a converted price inside a sentence), that has a
//    comment, a misnested or unclosed inline element, an unknown character
//    reference, no letters, or is over `max_segment_bytes` is left as it is;
//  - one page in `log_missing_one_in` with memory misses logs them
//    (`translation_missing`).
// The post-processor must see the rewriter's final bytes: put it after any
// other stage on the output (held-back prices).
//
// Limits: UTF-8 pages only (the runtime's HTMLRewriter has no encoder for
// legacy charsets; another declared charset leaves the page untranslated).

const INLINE = new Set(["a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "data", "del", "dfn", "em", "font", "i", "ins", "mark", "q", "s", "small", "span", "strong", "sub", "sup", "time", "u", "wbr"]);
const VOID_INLINE = new Set(["br", "wbr"]);
const EXCLUDED = new Set(["script", "style", "template", "code", "pre", "textarea", "kbd", "samp", "noscript", "svg", "math", "iframe", "object", "canvas", "video", "audio"]);
const META_KEYS = new Set(["description", "og:title", "og:description", "twitter:title", "twitter:description"]);
const BUTTON_TYPES = new Set(["submit", "button", "reset"]);

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const LETTER = /\p{Alphabetic}/u;
const WORD_CHAR = /[\p{Alphabetic}\p{N}_]/u;
const ONLY_SPACE = /^[ \t\n\f\r]*$/;
const SPACE_RUN = /[ \t\n\f\r]+/g;
const isSpaceCode = (c) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
const isDigit = (c) => c >= 48 && c <= 57;

/** UTF-8 length of a string (the Rust worker counts bytes). */
function byteLength(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

// ---------------------------------------------------------------- config and memory

/** `localization.translation` of the config. */
export function compile(t) {
  return {
    maxSegmentBytes: t.max_segment_bytes ?? 4096,
    exclude: t.exclude ?? [],
    shards: new Map(Object.entries(t.shards ?? {})),
    logMissingOneIn: t.log_missing_one_in ?? 16,
  };
}

/** A memory KV value (base or shard), parsed once per isolate. */
export function prepare(v) {
  if (!v || typeof v.locale !== "string" || !v.entries || typeof v.entries !== "object") throw new Error("not a translation memory value");
  return { locale: v.locale, shard: v.shard ?? null, entries: new Map(Object.entries(v.entries)) };
}

/** The shard of a page path among `shards` (FNV-1a 32), or null. */
export function shardOf(path, shards) {
  if (!shards) return null;
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  const bytes = utf8.encode(path.slice(0, end));
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h % shards;
}

/**
 * The memory of this page's locale, or null (no memory for the locale, the
 * site's default locale, a crawler). `read(id)` reads `tm/<id>` of the
 * bundle (value, null, or a promise of either).
 */
export function memory(cfg, locale, defaultLocale, crawler, path, read) {
  const shards = cfg.shards.get(locale);
  if (shards === undefined || locale === defaultLocale || crawler) return null;
  const k = shardOf(path, shards);
  const base = read(locale);
  const shard = k === null ? null : read(`${locale}.${k}`);
  if (base instanceof Promise || shard instanceof Promise) return Promise.all([base, shard]).then(([b, s]) => combine(locale, b, s));
  return combine(locale, base, shard);
}

function combine(locale, base, shard) {
  if (!base || base.locale !== locale) return null;
  const own = shard && shard.locale === base.locale && shard.shard !== null ? shard : null;
  return { locale, base, shard: own };
}

const lookupEntry = (m, key) => m.base.entries.get(key) ?? m.shard?.entries.get(key);

// ---------------------------------------------------------------- notation

const PAIR = "g";
const SINGLE = "x";
const NUMBER = "n";
// Tokens: [TEXT, string] or [OPEN | CLOSE | SINGLE_T | NUM, n].
const TEXT = 0;
const OPEN = 1;
const CLOSE = 2;
const SINGLE_T = 3;
const NUM = 4;

/** 64-bit FNV-1a of the notation's UTF-8 bytes, 16 hex digits. */
export function key(notation) {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const byte = (b) => {
    lo = (lo ^ b) >>> 0;
    // × 0x100000001b3 = × 2^40 + × 0x1b3, mod 2^64
    const l = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + Math.floor(l / 4294967296)) >>> 0;
    lo = l >>> 0;
  };
  // The UTF-8 bytes, without a TextEncoder call per key.
  for (let i = 0; i < notation.length; i++) {
    let c = notation.charCodeAt(i);
    if (c < 0x80) {
      byte(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = notation.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd; // a lone surrogate, as TextEncoder writes it
    }
    if (c < 0x800) byte(0xc0 | (c >> 6));
    else {
      if (c < 0x10000) byte(0xe0 | (c >> 12));
      else byte(0xf0 | (c >> 18)), byte(0x80 | ((c >> 12) & 63));
      byte(0x80 | ((c >> 6) & 63));
    }
    byte(0x80 | (c & 63));
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

const CURRENCY = new Set(["$", "£", "€", "¥", "₹", "₽", "₩", "¢", "₺", "₪", "₫", "฿", "₴"]);

function charBefore(s, i) {
  if (i <= 0) return "";
  const c = s.charCodeAt(i - 1);
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = s.charCodeAt(i - 2);
    if (h >= 0xd800 && h <= 0xdbff) return s.slice(i - 2, i);
  }
  return s[i - 1];
}
const charAt = (s, i) => (i < s.length ? String.fromCodePoint(s.codePointAt(i)) : "");
const glued = (c) => c !== "" && WORD_CHAR.test(c);

/**
 * The first number (digit groups with `.` `,` `'` NBSP or narrow NBSP between
 * them, a currency sign glued to either side) not part of a word: [before,
 * number, after], or null.
 */
function splitNumber(s) {
  const len = s.length;
  let i = 0;
  while (i < len) {
    if (!isDigit(s.charCodeAt(i))) {
      i++;
      continue;
    }
    let start = i;
    let end = i;
    for (;;) {
      while (end < len && isDigit(s.charCodeAt(end))) end++;
      const sep = s.charCodeAt(end);
      if ((sep === 46 || sep === 44 || sep === 39 || sep === 0xa0 || sep === 0x202f) && isDigit(s.charCodeAt(end + 1))) end++;
      else break;
    }
    if (CURRENCY.has(charBefore(s, start))) start--;
    if (CURRENCY.has(s[end] ?? "")) end++;
    if (glued(charBefore(s, start)) || glued(charAt(s, end))) {
      i = Math.max(end, i + 1); // part of a word (MP3, B07FW264WL)
      continue;
    }
    return [s.slice(0, start), s.slice(start, end), s.slice(end)];
  }
  return null;
}

/** Collapses ASCII whitespace runs (NBSP stays), continuing `st.space`. */
function pushText(s, st) {
  if (s === "") return "";
  let r = s.replace(SPACE_RUN, " ");
  if (st.space && r.charCodeAt(0) === 32) r = r.slice(1);
  st.space = isSpaceCode(s.charCodeAt(s.length - 1));
  if (!st.letters && LETTER.test(s)) st.letters = true;
  return r;
}

/**
 * A source segment from pieces ({text} decoded text, {open|close|single}
 * tag bytes): { notation, kinds, parts, letters }, or null (unbalanced).
 * Parts: tags' bytes ({open, close}) or a number's text ({open}).
 */
function build(pieces) {
  const out = [];
  const kinds = [];
  const parts = [];
  const stack = [];
  const st = { space: true, letters: false };
  const next = (k) => (kinds.push(k), kinds.length <= 65535 ? kinds.length : -1);
  for (const p of pieces) {
    if (p.open !== undefined) {
      const n = next(PAIR);
      if (n < 0) return null;
      parts.push({ open: p.open, close: null });
      stack.push(n);
      out.push([OPEN, n]);
    } else if (p.close !== undefined) {
      const n = stack.pop();
      if (n === undefined) return null;
      parts[n - 1].close = p.close;
      out.push([CLOSE, n]);
    } else if (p.single !== undefined) {
      const n = next(SINGLE);
      if (n < 0) return null;
      out.push([SINGLE_T, n]);
      parts.push({ open: p.single, close: null });
    } else {
      let text = "";
      let rest = p.text;
      while (rest !== "") {
        const m = splitNumber(rest);
        if (m === null) {
          text += pushText(rest, st);
          break;
        }
        text += pushText(m[0], st);
        if (text !== "") out.push([TEXT, text]), (text = "");
        const n = next(NUMBER);
        if (n < 0) return null;
        parts.push({ open: m[1], close: null });
        out.push([NUM, n]);
        st.space = false;
        rest = m[2];
      }
      if (text !== "") out.push([TEXT, text]);
    }
  }
  if (stack.length) return null;
  // Trim the end: a trailing space may sit before closing tags.
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i][0] === CLOSE) continue;
    if (out[i][0] === TEXT && out[i][1].endsWith(" ")) out[i][1] = out[i][1].slice(0, -1);
    break;
  }
  let notation = "";
  for (const [t, v] of out) {
    if (t === TEXT) notation += escapeText(v);
    else if (t === OPEN) notation += `<g${v}>`;
    else if (t === CLOSE) notation += `</g${v}>`;
    else if (t === SINGLE_T) notation += `<x${v}/>`;
    else notation += `<n${v}/>`;
  }
  return { notation, kinds, parts, letters: st.letters };
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };
const escapeText = (s) => (/[&<>]/.test(s) ? s.replace(/[&<>]/g, (c) => ESCAPES[c]) : s);

function placeholder(d) {
  return d.length > 0 && d.length <= 4 && /^[0-9]+$/.test(d) && Number(d) > 0 ? Number(d) : null;
}

function parseTag(tag) {
  if (tag.startsWith("/g")) {
    const n = placeholder(tag.slice(2));
    return n === null ? null : [CLOSE, n];
  }
  if (tag.endsWith("/")) {
    const d = tag.slice(0, -1);
    const n = placeholder(d.slice(1));
    if (d[0] === "x") return n === null ? null : [SINGLE_T, n];
    return d[0] === "n" && n !== null ? [NUM, n] : null;
  }
  const n = tag[0] === "g" ? placeholder(tag.slice(1)) : null;
  return n === null ? null : [OPEN, n];
}

/** Parses a target notation; null on a `<` that is not a placeholder. */
function parse(s) {
  const out = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "<") {
      const end = s.indexOf(">", i);
      if (end < 0) return null;
      const tok = parseTag(s.slice(i + 1, end));
      if (tok === null) return null;
      if (text !== "") out.push([TEXT, text]), (text = "");
      out.push(tok);
      i = end + 1;
    } else if (c === "&") {
      if (s.startsWith("&amp;", i)) (text += "&"), (i += 5);
      else if (s.startsWith("&lt;", i)) (text += "<"), (i += 4);
      else if (s.startsWith("&gt;", i)) (text += ">"), (i += 4);
      else (text += "&"), i++;
    } else {
      let j = i + 1;
      while (j < s.length && s[j] !== "<" && s[j] !== "&") j++;
      text += s.slice(i, j);
      i = j;
    }
  }
  if (text !== "") out.push([TEXT, text]);
  return out;
}

/** Every placeholder exactly once, of the source's kind, pairs nested. */
function valid(target, kinds) {
  const seen = new Uint8Array(kinds.length);
  const stack = [];
  const mark = (n, k) => {
    if (kinds[n - 1] !== k || seen[n - 1]) return false;
    seen[n - 1] = 1;
    return true;
  };
  for (const [t, v] of target) {
    if (t === OPEN) {
      if (!mark(v, PAIR)) return false;
      stack.push(v);
    } else if (t === CLOSE) {
      if (stack.pop() !== v) return false;
    } else if (t === SINGLE_T) {
      if (!mark(v, SINGLE)) return false;
    } else if (t === NUM && !mark(v, NUMBER)) return false;
  }
  return stack.length === 0 && seen.every((x) => x === 1);
}

/** A validated target as plain text, numbers from the source. */
function renderPlain(src, target) {
  let out = "";
  for (const [t, v] of target) {
    if (t === TEXT) out += v;
    else if (t === NUM) out += src.parts[v - 1].open;
    else return null;
  }
  return out;
}

/** The memory's translation of a plain text (a promo line the worker inserts), or null. */
export function translatePlain(m, text) {
  const src = build([{ text }]);
  const entry = src && lookupEntry(m, key(src.notation));
  const toks = entry === undefined || entry === null ? null : parse(entry);
  return toks && valid(toks, src.kinds) ? renderPlain(src, toks) : null;
}

// ---------------------------------------------------------------- character references

/** Decodes character references; null for one this decoder does not know. */
function decodeEntities(s) {
  let amp = s.indexOf("&");
  if (amp < 0) return s;
  let out = "";
  let at = 0;
  while (amp >= 0) {
    out += s.slice(at, amp);
    const b = amp + 1;
    const first = s.charCodeAt(b);
    if (!(isAlnum(first) || first === 35)) {
      out += "&";
      at = b;
      amp = s.indexOf("&", at);
      continue;
    }
    let run = b + 1;
    while (run < s.length && isAlnum(s.charCodeAt(run))) run++;
    const name = s.slice(b, run);
    if (s.charCodeAt(run) === 59) {
      const c = entity(name);
      if (c === null) return null;
      out += c;
      at = run + 1;
    } else if (name[0] === "#" || LEGACY.some((l) => name.startsWith(l))) {
      return null; // a reference without `;` that a browser would still decode
    } else {
      out += "&";
      at = b;
    }
    amp = s.indexOf("&", at);
  }
  return out + s.slice(at);
}

const isAlnum = (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Names a browser decodes even without the `;` (the HTML legacy set). */
const LEGACY = ["AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil", "ETH", "Eacute", "Ecirc", "Egrave", "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT", "Ntilde", "Oacute", "Ocirc", "Ograve", "Oslash", "Otilde", "Ouml", "QUOT", "REG", "THORN", "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute", "aacute", "acirc", "acute", "aelig", "agrave", "amp", "aring", "atilde", "auml", "brvbar", "ccedil", "cedil", "cent", "copy", "curren", "deg", "divide", "eacute", "ecirc", "egrave", "eth", "euml", "frac12", "frac14", "frac34", "gt", "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt", "macr", "micro", "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash", "otilde", "ouml", "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1", "sup2", "sup3", "szlig", "thorn", "times", "uacute", "ucirc", "ugrave", "uml", "uuml", "yacute", "yen", "yuml"];

const NAMED = new Map(Object.entries({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", copy: "©", reg: "®", trade: "™", hellip: "…", mdash: "—", ndash: "–", lsquo: "‘", rsquo: "’", sbquo: "‚", ldquo: "“", rdquo: "”", bdquo: "„", laquo: "«", raquo: "»", lsaquo: "‹", rsaquo: "›", euro: "€", pound: "£", yen: "¥", cent: "¢", middot: "·", bull: "•", times: "×", divide: "÷", deg: "°", plusmn: "±", frac12: "½", frac14: "¼", frac34: "¾", sect: "§", para: "¶", shy: "\u00ad", zwj: "\u200d", zwnj: "\u200c", ensp: "\u2002", emsp: "\u2003", thinsp: "\u2009", iexcl: "¡", iquest: "¿", uuml: "ü", ouml: "ö", auml: "ä", Uuml: "Ü", Ouml: "Ö", Auml: "Ä", szlig: "ß", eacute: "é", egrave: "è", ecirc: "ê", aacute: "á", agrave: "à", acirc: "â", ccedil: "ç", oacute: "ó", iacute: "í", uacute: "ú", ntilde: "ñ", Eacute: "É", star: "☆", check: "✓", larr: "←", rarr: "→", uarr: "↑", darr: "↓" }));

function entity(name) {
  if (name[0] !== "#") return NAMED.get(name) ?? null;
  let num = name.slice(1);
  let v;
  if (num[0] === "x" || num[0] === "X") {
    num = num.slice(1);
    v = /^[0-9a-fA-F]+$/.test(num) ? parseInt(num, 16) : NaN;
  } else v = /^[0-9]+$/.test(num) ? Number(num) : NaN;
  // A scalar value that is not NUL or a control character (newline is fine).
  if (!(v <= 0x10ffff) || (v >= 0xd800 && v <= 0xdfff)) return null;
  if (v !== 10 && (v === 0 || v <= 0x1f || (v >= 0x7f && v <= 0x9f))) return null;
  return String.fromCodePoint(v);
}

// ---------------------------------------------------------------- the segmenter (handlers)

const OVER_BOUND = "over_bound";
const MARKUP = "markup";
const ENTITY = "entity";
const INVALID_ENTRY = "invalid_entry";
const MISMATCH = "mismatch";
const LEFT_ORDER = [OVER_BOUND, MARKUP, ENTITY, INVALID_ENTRY, MISMATCH];

// Recorded: [R_TEXT, text as the rewriter saw it] / [R_START | R_END, tag name].
const R_TEXT = 0;
const R_START = 1;
const R_END = 2;
const ABORTED = null;

class Page {
  constructor(cfg, mem) {
    this.cfg = cfg;
    this.mem = mem;
    const b = crypto.getRandomValues(new Uint8Array(8));
    this.nonce = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    this.nextId = 0;
    this.nextToken = 0;
    this.cur = null; // { id, recs, stack, bytes, letters, path }
    this.blocked = false;
    this.excluded = 0;
    this.pendingExclude = false;
    this.context = "";
    this.lead = ""; // blank chunks that began the text node, carried on by the price stage (see addText)
    this.verdicts = new Map(); // id → { recs, path } (clean) or ABORTED
    this.report = { segments: 0, translated: 0, missing: 0, left: new Map(), missingKeys: [] };
  }

  marker(kind, id) {
    return `<!--tm${this.nonce}${kind}${id}-->`;
  }

  open() {
    this.nextId++;
    this.cur = { id: this.nextId, recs: [], stack: [], bytes: 0, letters: false, path: this.context };
    return this.marker("s", this.nextId);
  }

  leave(why) {
    this.report.segments++;
    this.report.left.set(why, (this.report.left.get(why) ?? 0) + 1);
  }

  /** A block boundary: the end marker of the current segment, or null. */
  boundary() {
    this.blocked = false;
    const cur = this.cur;
    if (!cur) return null;
    this.cur = null;
    if (!cur.letters) {
      this.verdicts.set(cur.id, ABORTED); // nothing to translate (a price, a number)
      return null;
    }
    if (cur.stack.length) {
      this.abortOpen(cur, MARKUP);
      return null;
    }
    this.verdicts.set(cur.id, { recs: cur.recs, path: cur.path });
    return this.marker("e", cur.id);
  }

  abort(why) {
    if (this.cur) {
      this.abortOpen(this.cur, why);
      this.cur = null;
    }
    this.blocked = true;
  }

  abortOpen(cur, why) {
    if (cur.letters) this.leave(why);
    this.verdicts.set(cur.id, ABORTED);
  }

  /** Text of the current segment: recorded (one run with the text before it) and counted against the bound. */
  recordText(s) {
    const cur = this.cur;
    if (cur) {
      if (!cur.letters && LETTER.test(s)) cur.letters = true;
      const last = cur.recs[cur.recs.length - 1];
      if (last !== undefined && last[0] === R_TEXT) last[1] += s;
      else cur.recs.push([R_TEXT, s]);
    }
    this.grow(byteLength(s));
  }

  grow(n) {
    if (this.cur && (this.cur.bytes += n) > this.cfg.maxSegmentBytes) this.abort(OVER_BOUND);
  }

  /** Looks a source up; counts a miss. The target's tokens, or null. */
  lookup(src) {
    const k = key(src.notation);
    const entry = lookupEntry(this.mem, k);
    if (entry === undefined) {
      this.report.segments++;
      this.report.missing++;
      if (this.report.missingKeys.length < 32) this.report.missingKeys.push(k);
      return null;
    }
    const toks = parse(entry);
    if (toks === null || !valid(toks, src.kinds)) {
      this.leave(INVALID_ENTRY);
      return null;
    }
    this.report.segments++;
    this.report.translated++;
    return toks;
  }

  /** Translates the attributes a visitor reads (`attrs`: the element's, read once). */
  translateAttrs(el, name, attrs) {
    if (attrs.length === 0 || get(attrs, "data-i18n-attr") !== null) return;
    this.translateAttr(el, attrs, "title");
    this.translateAttr(el, attrs, "alt");
    this.translateAttr(el, attrs, "placeholder");
    this.translateAttr(el, attrs, "aria-label");
    if (name === "input") {
      const type = get(attrs, "type");
      if (type !== null && BUTTON_TYPES.has(type.toLowerCase())) this.translateAttr(el, attrs, "value");
    } else if (name === "meta") {
      const k = get(attrs, "name") ?? get(attrs, "property") ?? "";
      if (META_KEYS.has(k.toLowerCase())) this.translateAttr(el, attrs, "content");
    }
  }

  translateAttr(el, attrs, attr) {
    const raw = get(attrs, attr);
    if (raw === null || byteLength(raw) > this.cfg.maxSegmentBytes) return;
    const decoded = decodeEntities(raw);
    if (decoded === null) return this.leave(ENTITY);
    const src = build([{ text: decoded }]);
    if (!src || !src.letters) return;
    const target = this.lookup(src);
    const value = target && renderPlain(src, target);
    if (value !== null) el.setAttribute(attr, escapeText(value));
  }
}

/**
 * An element's attributes, read once ([name, value] pairs, names lowercase,
 * in order): a handler reads several, and each read is a call into the runtime.
 */
function attributes(el) {
  const list = [];
  for (const a of el.attributes) list.push(a);
  return list;
}

/** The first attribute of that name, as the rewriter's getAttribute gives it. */
function get(attrs, name) {
  for (let i = 0; i < attrs.length; i++) if (attrs[i][0] === name) return attrs[i][1];
  return null;
}

const trimmedIsNo = (v) => v !== null && v.trim().toLowerCase() === "no";
const hasClass = (c, name) => c !== null && c.includes(name) && c.split(/[ \t\n\f\r]+/).includes(name);

function isExcluded(attrs, name) {
  if (EXCLUDED.has(name)) return true;
  if (attrs.length === 0) return false;
  return trimmedIsNo(get(attrs, "translate")) || hasClass(get(attrs, "class"), "notranslate") || get(attrs, "data-borderless-ignore") !== null || get(attrs, "data-i18n") !== null;
}

const IDENT = /^[A-Za-z0-9_-]{1,40}$/;

/** `p.intro`, `h1#title`: where a segment sits. */
function describe(attrs, name) {
  const id = get(attrs, "id");
  if (id !== null && IDENT.test(id)) return `${name}#${id}`;
  const first = get(attrs, "class")?.split(/[ \t\n\f\r]+/).find((c) => c !== "");
  return first !== undefined && IDENT.test(first) ? `${name}.${first}` : name;
}

// HTML void elements: no end tag (asking the rewriter for one throws, which is slow).
const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]);

/** Registers an end-tag handler; false when the element has no end tag (void, self-closing). */
function onEnd(el, handler) {
  if (VOID.has(el.tagName)) return false;
  try {
    el.onEndTag(handler);
    return true;
  } catch {
    return false;
  }
}

function element(p, el) {
  const name = el.tagName;
  const pending = p.pendingExclude;
  p.pendingExclude = false;
  if (p.excluded > 0) return;
  const attrs = attributes(el);
  const excl = pending || isExcluded(attrs, name);
  if (!excl && INLINE.has(name)) return inline(p, el, name, attrs);
  const m = p.boundary();
  if (m !== null) el.before(m, { html: true });
  if (excl) {
    const ok = onEnd(el, () => {
      if (p.excluded > 0) p.excluded--;
      p.blocked = false;
    });
    if (ok) p.excluded++;
    return;
  }
  p.context = describe(attrs, name);
  p.translateAttrs(el, name, attrs);
  onEnd(el, (end) => {
    const m = p.boundary();
    if (m !== null) end.before(m, { html: true });
  });
}

function inline(p, el, name, attrs) {
  // Sized before attributes are translated: the keys extracted are the keys looked up.
  let size = name.length + 2;
  for (const [n, v] of attrs) size += byteLength(n) + byteLength(v) + 4;
  p.translateAttrs(el, name, attrs);
  if (p.blocked) return;
  if (!p.cur) el.before(p.open(), { html: true });
  const token = ++p.nextToken;
  const cur = p.cur;
  const id = cur.id;
  cur.recs.push([R_START, name]);
  const isVoid =
    VOID_INLINE.has(name) ||
    !onEnd(el, (end) => {
      const c = p.cur;
      if (c !== null && c.id === id && c.stack[c.stack.length - 1] === token) {
        c.stack.pop();
        c.recs.push([R_END, name]);
        p.grow(name.length + 3);
      } else if (c !== null && c.id === id) {
        p.abort(MARKUP); // closes out of order
      } else if (c !== null) {
        // Belongs to an abandoned segment: the current one ends here.
        const m = p.boundary();
        if (m !== null) end.before(m, { html: true });
      }
    });
  if (!isVoid) cur.stack.push(token);
  p.grow(size);
}

function text(p, chunk) {
  // (script and style text is never read)
  if (chunk.text !== "" && p.excluded === 0 && !p.blocked) addText(p, chunk, chunk.text);
  if (chunk.lastInTextNode) p.lead = "";
}

function addText(p, chunk, s) {
  if (!p.cur) {
    if (ONLY_SPACE.test(s)) {
      // A node split by the input's chunks, blank so far: a chunk the price
      // stage removed (it carries a node's chunks to its end) comes out after
      // the marker a later chunk may get, so it belongs to that segment.
      if (chunk.removed && !chunk.lastInTextNode) p.lead += s;
      return;
    }
    chunk.before(p.open(), { html: true });
    if (p.lead !== "") p.recordText(p.lead);
    p.lead = "";
  }
  p.recordText(s);
}

/**
 * Adds the segmenter's handlers to `rw` (after every other handler) for a
 * page whose memory is `mem`; returns the page, whose `release()` is the
 * output's post-processor. Null when the page is not UTF-8.
 */
export function attach(rw, cfg, mem, contentType) {
  const charset = /;\s*charset\s*=\s*["']?([^"';\s]+)/i.exec(contentType ?? "");
  if (charset && !/^(utf-?8|unicode-1-1-utf-8)$/i.test(charset[1])) return null;
  const p = new Page(cfg, mem);
  for (const sel of cfg.exclude) {
    try {
      rw.on(sel, {
        element() {
          p.pendingExclude = true;
        },
      });
    } catch {
      // not a selector the rewriter knows: ignored, as in the Rust worker
    }
  }
  rw.on("*", { element: (el) => element(p, el) });
  rw.onDocument({
    text: (t) => text(p, t),
    comments() {
      if (p.excluded === 0 && p.cur) p.abort(MARKUP);
    },
    end(end) {
      const m = p.boundary();
      if (m !== null) end.append(m, { html: true });
    },
  });
  return p;
}

// ---------------------------------------------------------------- the post-processor

const LT = 0x3c;

/** Whether `b` at `i` starts with the ASCII bytes of `s`. */
function startsWith(b, i, s) {
  if (b.length - i < s.length) return false;
  for (let k = 0; k < s.length; k++) if (b[i + k] !== s[k]) return false;
  return true;
}

const MARK = utf8.encode("<!--tm");
const END_COMMENT = utf8.encode("-->");

function indexOfMark(b, from) {
  for (let i = b.indexOf(LT, from); i >= 0; i = b.indexOf(LT, i + 1)) if (startsWith(b, i, MARK)) return i;
  return -1;
}

function concat(list, total) {
  if (list.length === 1) return list[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const x of list) out.set(x, at), (at += x.length);
  return out;
}

class Post {
  constructor(p) {
    this.p = p;
    this.prefix = utf8.encode(`<!--tm${p.nonce}`);
    this.cap = p.cfg.maxSegmentBytes * 4 + 4096;
    this.carry = null;
    this.seg = null; // { id, parts: [], size }
    this.out = [];
    this.outSize = 0;
  }

  push(bytes) {
    if (bytes.length) this.out.push(bytes), (this.outSize += bytes.length);
  }

  take() {
    const b = concat(this.out, this.outSize);
    this.out = [];
    this.outSize = 0;
    return b;
  }

  emit(bytes) {
    const seg = this.seg;
    if (seg === null) return this.push(bytes);
    if (bytes.length) seg.parts.push(bytes.slice()), (seg.size += bytes.length);
    if (seg.size > this.cap) {
      this.flushSeg();
    }
  }

  flushSeg() {
    const seg = this.seg;
    this.seg = null;
    if (seg && seg.size) this.push(concat(seg.parts, seg.size));
  }

  feed(input) {
    let buf = input;
    if (this.carry !== null) {
      buf = concat([this.carry, input], this.carry.length + input.length);
      this.carry = null;
    }
    let at = 0;
    for (;;) {
      const i = indexOfMark(buf, at);
      if (i < 0) {
        const keep = this.partialTail(buf, at);
        this.emit(buf.subarray(at, buf.length - keep));
        if (keep) this.carry = buf.slice(buf.length - keep);
        break;
      }
      this.emit(buf.subarray(at, i));
      const r = this.parseMarker(buf, i);
      if (r === INCOMPLETE) {
        this.carry = buf.slice(i);
        break;
      }
      if (r === NOT_OURS) {
        this.emit(buf.subarray(i, i + 1));
        at = i + 1;
      } else {
        this.marker(r.kind, r.id);
        at = i + r.len;
      }
    }
    // Flushes the buffered segment once the handlers abandoned it.
    if (this.seg !== null && this.p.verdicts.get(this.seg.id) === ABORTED) this.flushSeg();
  }

  finish() {
    if (this.carry !== null) {
      this.emit(this.carry);
      this.carry = null;
    }
    this.flushSeg();
  }

  /** How many bytes at the end of `b` could begin `<!--tm<nonce>…`. */
  partialTail(b, from) {
    const p = this.prefix;
    for (let i = Math.max(from, b.length - p.length); i < b.length; i++) {
      if (b[i] !== LT) continue;
      let k = 1;
      while (i + k < b.length && b[i + k] === p[k]) k++;
      if (i + k === b.length) return b.length - i;
    }
    return 0;
  }

  parseMarker(b, i) {
    const p = this.prefix;
    const n = Math.min(b.length - i, p.length);
    for (let k = 0; k < n; k++) if (b[i + k] !== p[k]) return NOT_OURS;
    if (b.length - i <= p.length) return INCOMPLETE;
    const t = i + p.length;
    const kind = b[t];
    let d = t + 1;
    while (d < b.length && isDigit(b[d])) d++;
    const digits = d - t - 1;
    const after = b.length - d;
    if (after < 3 && digits <= 10) {
      let prefixOfEnd = true;
      for (let k = 0; k < after; k++) if (b[d + k] !== END_COMMENT[k]) prefixOfEnd = false;
      if (prefixOfEnd) return INCOMPLETE;
    }
    let id = null;
    if (digits > 0) {
      let v = 0;
      for (let k = t + 1; k < d; k++) v = v * 10 + (b[k] - 48);
      if (v <= 0xffffffff) id = v;
    }
    if (id === null || !startsWith(b, d, END_COMMENT)) return NOT_OURS;
    if (kind === 0x73) return { kind: "s", id, len: p.length + 4 + digits };
    if (kind === 0x65) return { kind: "e", id, len: p.length + 4 + digits };
    return NOT_OURS;
  }

  marker(kind, id) {
    const v = this.p.verdicts;
    if (kind === "s") {
      this.flushSeg();
      // Verdicts of segments before this one are no longer needed.
      for (const k of v.keys()) {
        if (k >= id) break;
        v.delete(k);
      }
      if (v.get(id) !== ABORTED) this.seg = { id, parts: [], size: 0 };
      return;
    }
    const seg = this.seg;
    if (seg === null) return;
    this.seg = null;
    const raw = concat(seg.parts, seg.size);
    if (seg.id !== id) return this.push(raw);
    const verdict = v.get(id);
    v.delete(id);
    const t = verdict ? this.render(raw, verdict.recs) : null;
    this.push(t ?? raw);
  }

  /**
   * The translation of a clean segment, or null to keep its bytes. The
   * segment is decoded once and worked on as a string (tags and quotes are
   * ASCII); a segment that is not valid UTF-8 is kept.
   */
  render(raw, recs) {
    let s;
    try {
      s = strictUtf8.decode(raw);
    } catch {
      return null;
    }
    const toks = scan(s);
    if (toks === null) return null;
    const p = this.p;
    // A handler that rewrites a text node at its last chunk (prices) moves
    // the node's first, whitespace-only chunks — seen before the segment
    // opened — after the start marker: they stay outside the comparison
    // (and go out as they came, with the segment's leading whitespace).
    if (toks.length && toks[0].kind === R_TEXT && recs.length && recs[0][0] === R_TEXT) {
      const extra = toks[0].to - toks[0].from - recs[0][1].length;
      if (extra > 0 && ONLY_SPACE.test(s.slice(toks[0].from, toks[0].from + extra))) toks[0].from += extra;
    }
    // What the bytes say must be what the handlers saw.
    let same = toks.length === recs.length;
    for (let i = 0; same && i < toks.length; i++) {
      const t = toks[i];
      const r = recs[i];
      same = r[0] === t.kind && r[1] === (t.kind === R_TEXT ? s.slice(t.from, t.to) : t.name);
    }
    if (!same) {
      p.leave(MISMATCH);
      return null;
    }
    const pieces = [];
    for (const t of toks) {
      if (t.kind === R_TEXT) {
        const d = decodeEntities(s.slice(t.from, t.to));
        if (d === null) {
          p.leave(ENTITY);
          return null;
        }
        pieces.push({ text: d });
      } else {
        const tag = s.slice(t.from, t.to);
        if (t.kind === R_END) pieces.push({ close: tag });
        else if (VOID_INLINE.has(t.name)) pieces.push({ single: tag });
        else pieces.push({ open: tag });
      }
    }
    const src = build(pieces);
    if (src === null) {
      p.leave(MARKUP);
      return null;
    }
    if (!src.letters) return null;
    const target = p.lookup(src);
    if (target === null) return null;
    let lead = 0;
    while (lead < s.length && isSpaceCode(s.charCodeAt(lead))) lead++;
    let trail = s.length;
    while (trail > lead && isSpaceCode(s.charCodeAt(trail - 1))) trail--;
    let out = s.slice(0, lead);
    for (const [t, v] of target) {
      if (t === TEXT) out += escapeText(v);
      else if (t === OPEN || t === SINGLE_T) out += src.parts[v - 1].open;
      else if (t === CLOSE) out += src.parts[v - 1].close;
      else out += escapeText(src.parts[v - 1].open);
    }
    return utf8.encode(out + s.slice(trail));
  }
}

const INCOMPLETE = 1;
const NOT_OURS = 2;

const isAsciiAlpha = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isTagNameEnd = (c) => isSpaceCode(c) || c === 47 || c === 62;

/**
 * A segment split as the HTML tokenizer splits text and tags: {kind, from,
 * to, name}; null on an unterminated tag.
 */
function scan(s) {
  const out = [];
  let i = 0;
  let text = 0;
  for (;;) {
    i = s.indexOf("<", i);
    if (i < 0) break;
    const endTag = s.charCodeAt(i + 1) === 47;
    const nameAt = endTag ? i + 2 : i + 1;
    if (!isAsciiAlpha(s.charCodeAt(nameAt))) {
      i++;
      continue;
    }
    if (text < i) out.push({ kind: R_TEXT, from: text, to: i, name: null });
    let j = nameAt;
    while (j < s.length && !isTagNameEnd(s.charCodeAt(j))) j++;
    let name = s.slice(nameAt, j);
    if (/[A-Z]/.test(name)) name = name.replace(/[A-Z]+/g, (x) => x.toLowerCase());
    let close = -1;
    while (close < 0) {
      if (j >= s.length) return null;
      const c = s.charCodeAt(j);
      if (c === 62) close = j;
      else if (c === 61) {
        j++;
        while (j < s.length && isSpaceCode(s.charCodeAt(j))) j++;
        const q = s.charCodeAt(j);
        if (q === 34 || q === 39) {
          const e = s.indexOf(s[j], j + 1);
          if (e < 0) return null;
          j = e + 1;
        }
      } else j++;
    }
    out.push({ kind: endTag ? R_END : R_START, from: i, to: close + 1, name });
    i = close + 1;
    text = i;
  }
  if (text < s.length) out.push({ kind: R_TEXT, from: text, to: s.length, name: null });
  return out;
}

// The rewriter writes many small chunks, and each chunk a JS stream handles
// costs: its output is read in batches of at least BATCH bytes with
// workerd's readAtLeast (the first read as soon as there is anything).
const BATCH = 16 << 10;

/**
 * The page's body through the memory's post-processor (after any other
 * stage on the output); `done(page)` once it has all gone out.
 */
export function release(p, body, done) {
  const pp = new Post(p);
  let reader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    reader = null; // not a byte stream: read it chunk by chunk
  }
  const plain = reader === null ? body.getReader() : null;
  let min = 1;
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      for (;;) {
        const { value, done: end } = plain ? await plain.read() : await reader.readAtLeast(min, new Uint8Array(2 * BATCH));
        min = BATCH;
        if (value && value.length) pp.feed(value instanceof Uint8Array ? value : new Uint8Array(value));
        if (end) {
          pp.finish();
          if (pp.outSize) controller.enqueue(pp.take());
          done?.(p);
          return controller.close();
        }
        if (pp.outSize) return controller.enqueue(pp.take());
      }
    },
    cancel(reason) {
      return (reader ?? plain).cancel(reason);
    },
  });
}

/** The sampled `translation_missing` line of a page (keys sorted, as serde_json writes them), or null. */
export function missingLine(p, path) {
  const r = p.report;
  const sample = parseInt(p.nonce.slice(0, 2), 16);
  const oneIn = p.cfg.logMissingOneIn;
  if (r.missing === 0 || oneIn === 0 || sample % oneIn !== 0) return null;
  const left = {};
  for (const why of LEFT_ORDER) if (r.left.has(why)) left[why] = r.left.get(why);
  return JSON.stringify({ event: "translation_missing", keys: r.missingKeys.slice(0, 16), left, locale: p.mem.locale, missing: r.missing, path, segments: r.segments, translated: r.translated });
}

/** What the memory did on the page so far (tests). */
export const report = (p) => p.report;
