// Borderless reference worker: prices on pages the shop did not write for us.
//
// The Rust worker's price stage (src/rewrite/prices/) as a user would write it
// on the runtime's HTMLRewriter: every visible text node is read (a node that
// comes in several chunks is carried, bounded), amounts with a currency sign,
// abbreviation or ISO code before or after them, or bare amounts where the
// markup says price (class/id "price", itemprop=price, data-price, the
// config's selectors and attributes), are read with the shop's decimal
// separator and their currency's decimals, converted and formatted with Intl,
// and written back in place. A price split over sibling inline elements
// (`<span>£</span><span>279</span>`) is read as a run of pieces: each piece's
// text goes out as a marker, and a stream on the rewriter's output holds the
// bytes from the first unsettled marker until the run is settled (converted,
// or the original text put back). Ported from src/rewrite/prices/ (names in
// brackets), kept step for step so that both give the same bytes.

import { TERRITORY_CURRENCY, CURRENCY_DIGITS, FRACTION_CODES } from "./cldr.mjs";

// ---------------------------------------------------------------- characters

const isDigit = (c) => c !== undefined && c.length === 1 && c >= "0" && c <= "9";
const ALPHA = /^\p{Alphabetic}$/u;
const ALNUM = /^[\p{Alphabetic}\p{N}]$/u;
const isLetter = (c) => c !== undefined && (c < "\x80" ? (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") : ALPHA.test(c));
const isAlnum = (c) => c !== undefined && (c < "\x80" ? isLetter(c) || isDigit(c) : ALNUM.test(c));
/** Spaces allowed between a marker and its amount, and around pieces. */
const isSpace = (c) => c === " " || c === "\u00a0" || c === "\u202f" || c === "\u2009" || c === "\t" || c === "\n" || c === "\r";

function trimSpace(s) {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

/** UTF-8 length of a string (the Rust worker's limits are in bytes). */
function utf8Length(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

const cpBytes = (c) => (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);

/** Where the longest suffix of `s` of at most `max` UTF-8 bytes (whole characters) starts. */
function tailStart(s, max) {
  let cut = s.length;
  for (let n = 0; cut > 0; ) {
    const lo = s.charCodeAt(cut - 1);
    const pair = lo >= 0xdc00 && lo <= 0xdfff && cut >= 2;
    const w = pair ? 4 : cpBytes(lo);
    if (n + w > max) break;
    n += w;
    cut -= pair ? 2 : 1;
  }
  return cut;
}

// White_Space, as Rust's str::trim has it (JS's trim also takes U+FEFF, not U+0085).
const RUST_TRIM = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const rustTrim = (s) => s.replace(RUST_TRIM, "");

// ---------------------------------------------------------------- currency markers [symbols]

const ONE = (c) => ({ one: c });
const ANY = (list) => ({ any: list });
const CODE = { code: true };

const DOLLARS = ["USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "TWD", "HKD", "SGD", "UYU"];
const YEN = ["JPY", "CNY"];
const KRONA = ["SEK", "NOK", "DKK", "ISK"];
const RUPEES = ["INR", "PKR", "LKR", "NPR"];
const YUAN = ["CNY", "TWD", "HKD"];

/** Markers, longest first within a shared prefix (`US$` before `$`). */
const MARKERS = [
  ["US $", ONE("USD")], ["US$", ONE("USD")], ["U$S", ONE("USD")], ["CA$", ONE("CAD")], ["C$", ONE("CAD")],
  ["AU$", ONE("AUD")], ["A$", ONE("AUD")], ["NZ$", ONE("NZD")], ["HK$", ONE("HKD")], ["NT$", ONE("TWD")],
  ["S$", ONE("SGD")], ["R$", ONE("BRL")], ["MX$", ONE("MXN")], ["$", ANY(DOLLARS)], ["£", ONE("GBP")],
  ["€", ONE("EUR")], ["￥", ANY(YEN)], ["¥", ANY(YEN)], ["円", ONE("JPY")], ["元", ANY(YUAN)], ["₹", ONE("INR")],
  ["Rs.", ANY(RUPEES)], ["Rs", ANY(RUPEES)], ["₨", ANY(RUPEES)], ["₽", ONE("RUB")], ["руб.", ONE("RUB")],
  ["руб", ONE("RUB")], ["₩", ONE("KRW")], ["원", ONE("KRW")], ["₺", ONE("TRY")], ["₪", ONE("ILS")],
  ["₴", ONE("UAH")], ["грн.", ONE("UAH")], ["грн", ONE("UAH")], ["₸", ONE("KZT")], ["тг.", ONE("KZT")],
  ["тг", ONE("KZT")], ["₱", ONE("PHP")], ["฿", ONE("THB")], ["₫", ONE("VND")], ["zł", ONE("PLN")],
  ["Kč", ONE("CZK")], ["Ft", ONE("HUF")], ["лв.", ONE("BGN")], ["лв", ONE("BGN")], ["Lei", ONE("RON")],
  ["lei", ONE("RON")], ["kn", ONE("HRK")], ["Kn", ONE("HRK")], ["kr.", ANY(KRONA)], ["kr", ANY(KRONA)],
  ["Kr", ANY(KRONA)], ["CHF", ONE("CHF")], ["Fr.", ONE("CHF")], ["б.р.", ONE("BYN")], ["ر.س", ONE("SAR")],
  ["د.إ", ONE("AED")],
].map(([m, kind]) => ({ m, kind, cps: Array.from(m) }));

const CODES = new Set([...Object.values(TERRITORY_CURRENCY), ...FRACTION_CODES]);
/** An ISO 4217 code as shops write them out: any CLDR currency. */
export const isCode = (s) => s.length === 3 && /^[A-Z]{3}$/.test(s) && CODES.has(s);
const digitsOf = (currency) => CURRENCY_DIGITS[currency] ?? 2;

const matchesAt = (text, at, cps) => {
  for (let k = 0; k < cps.length; k++) if (text[at + k] !== cps[k]) return false;
  return true;
};

/** A marker ending exactly at `end` of `text` (chars): [start, marker]. */
function before(text, end) {
  if (isLetter(text[end])) return null;
  if (end >= 3 && isCode(text[end - 3] + text[end - 2] + text[end - 1]) && (end === 3 || !isLetter(text[end - 4]))) return [end - 3, CODE];
  for (const { kind, cps } of MARKERS) {
    const n = cps.length;
    if (n > end || !matchesAt(text, end - n, cps)) continue;
    const start = end - n;
    if (isLetter(text[start]) && start > 0 && isLetter(text[start - 1])) continue;
    return [start, kind];
  }
  return null;
}

/** A marker starting exactly at `start`: [end, marker]. */
function after(text, start) {
  if (start + 3 <= text.length && isCode(text[start] + text[start + 1] + text[start + 2]) && !isLetter(text[start + 3])) return [start + 3, CODE];
  for (const { m, kind, cps } of MARKERS) {
    const n = cps.length;
    if (start + n > text.length || !matchesAt(text, start, cps)) continue;
    const end = start + n;
    if (isLetter(text[end - 1]) && isLetter(text[end])) continue;
    if (m === "$") continue; // after an amount it usually starts the next price
    return [end, kind];
  }
  return null;
}

/** The whole of `s` (trimmed) is one marker. */
function onlyMarker(s) {
  const t = Array.from(trimSpace(s));
  if (!t.length) return null;
  const a = after(t, 0);
  if (a && a[0] === t.length) return a[1];
  const b = before(t, t.length);
  return b && b[0] === 0 ? b[1] : null;
}

// ---------------------------------------------------------------- the decoded view of a raw text [detect]

const ENTITIES = new Map([
  ["nbsp", "\u00a0"], ["euro", "€"], ["pound", "£"], ["yen", "¥"], ["dollar", "$"], ["cent", "¢"], ["thinsp", "\u2009"],
  ["amp", "&"], ["ndash", "–"], ["mdash", "—"], ["middot", "·"], ["apos", "'"], ["rsquo", "’"],
]);

/** An unsigned integer as Rust's u32 parsing reads it (an optional `+`), or null. */
function parseU32(s, radix) {
  const body = s[0] === "+" ? s.slice(1) : s;
  if (!body || !(radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(body)) return null;
  const v = parseInt(body, radix);
  return v <= 0xffffffff ? v : null;
}

/** `&name;`, `&#NNN;` or `&#xHH;` at `i`: [char, raw length]. */
function entity(raw, i) {
  const semi = raw.slice(i, i + 12).indexOf(";");
  if (semi < 1) return null;
  const body = raw.slice(i + 1, i + semi);
  let c;
  if (body[0] === "#") {
    const num = body.slice(1);
    const v = num[0] === "x" || num[0] === "X" ? parseU32(num.slice(1), 16) : parseU32(num, 10);
    if (v === null || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return null;
    c = String.fromCodePoint(v);
  } else {
    c = ENTITIES.get(body);
    if (c === undefined) return null;
  }
  return [c, semi + 1];
}

/** The characters of a raw text (entities decoded), each with its raw offset. */
class View {
  constructor(raw) {
    const chars = [];
    const at = [];
    for (let i = 0; i < raw.length; ) {
      const cp = raw.codePointAt(i);
      let ch;
      let len;
      const e = cp === 0x26 ? entity(raw, i) : null;
      if (e) [ch, len] = e;
      else {
        len = cp > 0xffff ? 2 : 1;
        ch = len === 1 ? raw[i] : raw.slice(i, i + 2);
      }
      chars.push(ch);
      at.push(i);
      i += len;
    }
    this.chars = chars;
    this.at = at;
    this.len = raw.length;
  }

  pos(i) {
    return i < this.at.length ? this.at[i] : this.len;
  }

  /** Raw range of chars a..b (clamped). */
  range(a, b) {
    const start = this.pos(a);
    return [start, Math.max(this.pos(b), start)];
  }
}

// ---------------------------------------------------------------- finding price-shaped spans [detect]

const isSep = (c) => c === "." || c === "," || c === "'" || c === "’" || (isSpace(c) && c !== "\n" && c !== "\t" && c !== "\r");

/** End of the amount starting at digit `i`: digit groups with single separators, maybe `,-`. */
function coreEnd(t, i) {
  while (isDigit(t[i])) i++;
  for (;;) {
    const s = t[i];
    if (s === undefined || !isSep(s) || !isDigit(t[i + 1])) break;
    let j = i + 1;
    while (isDigit(t[j])) j++;
    if ((isSpace(s) || s === "'" || s === "’") && j - i - 1 !== 3) break;
    i = j;
  }
  if ((t[i] === "," || t[i] === ".") && (t[i + 1] === "-" || t[i + 1] === "–" || t[i + 1] === "—") && !isAlnum(t[i + 2])) i += 2;
  return i;
}

const oneSpaceBack = (t, i) => (i > 0 && isSpace(t[i - 1]) && t[i - 1] !== "\n" ? i - 1 : i);
const oneSpaceFwd = (t, i) => (isSpace(t[i]) && t[i] !== "\n" ? i + 1 : i);
const codeOf = (t, a, m) => (m === CODE ? t[a] + t[a + 1] + t[a + 2] : null);
const RANGE_GAPS = new Set(["-", "–", "—", "to", "bis", "à", "a"]);

/**
 * Every price-shaped span of `t` (chars), left to right: {start, end, core,
 * marker, code}; bare amounts too, unless their surroundings say they are
 * not prices (inside words, percentages, dimensions).
 */
function find(t) {
  const out = [];
  let consumed = 0;
  let i = 0;
  while (i < t.length) {
    if (!isDigit(t[i]) || (i > 0 && isDigit(t[i - 1]))) {
      i++;
      continue;
    }
    const cs = i;
    const ce = coreEnd(t, i);
    i = ce;
    const f = { start: cs, end: ce, core: t.slice(cs, ce).join(""), marker: null, code: null };
    const b = before(t, oneSpaceBack(t, cs));
    if (b && b[0] >= consumed) {
      f.start = b[0];
      f.marker = b[1];
      f.code = codeOf(t, b[0], b[1]);
    } else if (cs > 0 && (isAlnum(t[cs - 1]) || ".,#/+_".includes(t[cs - 1]))) {
      continue; // SKU12, v1.2, #12, 1/2, +44
    }
    // `₹39,…`: a truncated amount is not the amount.
    const next = t[ce];
    if (next === "…" || ((next === "." || next === ",") && (t[ce + 1] === "…" || t[ce + 1] === "."))) continue;
    const a = oneSpaceFwd(t, ce);
    const m = after(t, a);
    if (f.marker === null) {
      if (m) {
        f.end = m[0];
        f.marker = m[1];
        f.code = codeOf(t, a, m[1]);
      }
    } else if (m && m[1] === CODE) {
      // `$5 USD`: the code is part of the price and decides.
      f.end = m[0];
      f.code = codeOf(t, a, CODE);
      f.marker = CODE;
    }
    if (f.marker === null) {
      const sp = t[a];
      if ((next !== undefined && (isAlnum(next) || "%/×°_".includes(next))) || sp === "%" || sp === "x" || sp === "×") continue;
    }
    consumed = f.end;
    i = f.end;
    out.push(f);
  }
  // `£10–20`, `10–20 €`: the bare end of a range takes the other end's marker.
  for (let k = 1; k < out.length; k++) {
    if (!RANGE_GAPS.has(trimSpace(t.slice(out[k - 1].end, out[k].start).join("")))) continue;
    const [p, q] = [out[k - 1], out[k]];
    if (p.marker && !q.marker) (q.marker = p.marker), (q.code = p.code);
    else if (!p.marker && q.marker) (p.marker = q.marker), (p.code = q.code);
  }
  return out;
}

// ---------------------------------------------------------------- reading an amount [amount, base::money]

const GROUP_ONLY = new Set([" ", "\u00a0", "\u202f", "\u2009", "'", "’"]);

/**
 * The amount of `core` in a currency with `digits` decimals on a site whose
 * decimal separator is `decimal`; null when it is malformed or could be
 * read two ways (`1.299` where `.` is the decimal separator).
 */
function parseCore(core, digits, decimal) {
  let dash = false;
  const lastChar = core.at(-1);
  if (lastChar === "-" || lastChar === "–" || lastChar === "—") {
    const c = core.slice(0, -1);
    if (!c.endsWith(",") && !c.endsWith(".")) return null;
    core = c.slice(0, -1);
    dash = true;
  }
  const groups = [];
  const seps = [];
  let cur = "";
  for (const c of core) {
    if (isDigit(c)) cur += c;
    else groups.push(cur), seps.push(c), (cur = "");
  }
  groups.push(cur);
  if (groups.some((g) => !g)) return null;
  if (groups.reduce((n, g) => n + g.length, 0) > 15) return null;
  let decAt = null;
  const l = seps.at(-1);
  if (l !== undefined && !GROUP_ONLY.has(l)) {
    const tail = groups.at(-1).length;
    const others = seps.slice(0, -1);
    if (others.includes(l)) decAt = null; // `1,234,567`
    else if (others.length) decAt = seps.length - 1; // `1.299,00`
    else if (tail === 3) {
      // Grouping unless it is the decimal separator or the currency has 3 decimals; both (or neither) is a coin toss.
      if (digits === 0 || (l !== decimal && digits !== 3)) decAt = null;
      else if (l === decimal && digits === 3) decAt = 0;
      else return null;
    } else decAt = 0;
  }
  if (dash && decAt !== null) return null;
  const ints = decAt === null ? groups : groups.slice(0, decAt + 1);
  const frac = decAt === null ? null : groups[decAt + 1];
  if (frac !== null && frac.length !== digits) return null;
  if (ints.length > 1) {
    const g = seps[0];
    if (seps.slice(0, ints.length - 1).some((s) => s !== g)) return null;
    const first = ints[0];
    const middle = ints.slice(1, -1);
    const western = middle.every((x) => x.length === 3) && first.length <= 3;
    const indian = middle.every((x) => x.length === 2) && first.length <= 2;
    if (ints.at(-1).length !== 3 || !(western || indian)) return null;
  }
  const int = ints.join("");
  if (int.length > 1 && int[0] === "0") return null;
  return Number(frac === null ? int : `${int}.${frac}`);
}

/** A machine-readable amount ("2.55", "1234"): ASCII digits and at most one dot. */
function parseAmount(raw) {
  const s = rustTrim(raw);
  if (!s || s.length > 24 || s === "." || !/^[0-9]*\.?[0-9]*$/.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

// ---------------------------------------------------------------- config [config::prices]

/** Languages whose decimal separator is `.` (CLDR, simplified; regional exceptions below). */
const DOT_LANGUAGES = new Set(["en", "ja", "zh", "ko", "he", "th", "hi", "ms", "fil", "ga", "mt", "cy", "ta", "te", "bn", "ur", "sw", "my", "km", "lo", "ne", "si"]);

function decimalOf(locale) {
  const parts = locale.split("-");
  const lang = parts[0].toLowerCase();
  const region = (parts.slice(1).find((p) => p.length === 2) ?? "").toUpperCase();
  const is = (list) => list.includes(region);
  let dot;
  if (["de", "it", "fr", "rm"].includes(lang) && is(["CH", "LI"])) dot = true;
  else if (lang === "es" && is(["MX", "US", "PR", "GT", "HN", "NI", "PA", "SV", "DO", "PE"])) dot = true;
  else if (lang === "ar" && is(["SA", "AE", "EG", "QA", "KW", "BH", "OM", "JO", "IQ"])) dot = true;
  else if (lang === "en" && is(["ZA", "BE", "DK", "DE", "NL", "AT", "SI", "FI", "SE"])) dot = false;
  else dot = DOT_LANGUAGES.has(lang);
  return dot ? "." : ",";
}

/** `localization.prices` of the config (validated by `borderless check` before publishing). */
export function compilePrices(p, defaultLocale) {
  p = p || {};
  return {
    enabled: p.detect ?? true,
    only: p.only || [],
    hints: p.selectors || [],
    exclude: p.exclude || [],
    honorNotranslate: p.honor_notranslate ?? true,
    attributes: (p.attributes || []).map((a) => ({ name: a.name, minor: a.unit === "minor" })),
    decimal: p.decimal ?? decimalOf(defaultLocale),
    currencies: p.currencies || [],
  };
}

// ---------------------------------------------------------------- holding output back [hold]

/** Held output beyond this settles every open marker as it was. */
const MAX_HELD = 64 << 10;
/** `\x01bl`, 16 hex digits of nonce, 8 of id, `\x01`. */
const TAG_LEN = 28;
/** Output is sent on in batches of this size. */
const BATCH = 16 << 10;
const utf8 = new TextEncoder();
const hex = (n, w) => n.toString(16).padStart(w, "0");

class Holds {
  constructor() {
    const r = crypto.getRandomValues(new Uint32Array(2));
    this.prefix = `\u0001bl${hex(r[0], 8)}${hex(r[1], 8)}`;
    this.prefixBytes = utf8.encode(this.prefix);
    this.next = 0;
    this.open = []; // {id, original, settled} in opening order
  }

  /** A marker to write in place of `original` (raw HTML): [id, marker]. */
  hold(original) {
    const id = this.next;
    this.next = (this.next + 1) >>> 0;
    this.open.push({ id, original: utf8.encode(original), settled: null });
    return [id, `${this.prefix}${hex(id, 8)}\u0001`];
  }

  settle(id, html) {
    const h = this.open.find((x) => x.id === id && x.settled === null);
    if (h) h.settled = utf8.encode(html);
  }
}

function indexOfBytes(hay, needle, from) {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** Between the rewriter's output and the response: passes bytes up to the first unsettled marker. */
function release(holds, body) {
  let buf = new Uint8Array(0);
  const pass = (out, end) => {
    if (!holds.open.length && !buf.length) return out;
    if (buf.length) {
      const b = new Uint8Array(buf.length + out.length);
      b.set(buf);
      b.set(out, buf.length);
      buf = b;
    } else buf = out;
    const forceAll = () => {
      for (const h of holds.open) if (h.settled === null) h.settled = h.original;
    };
    if (end) forceAll();
    const prefix = holds.prefixBytes;
    const parts = [];
    let from = 0;
    let held = false;
    // Up to the first unsettled marker; only what waits behind it counts
    // against MAX_HELD (so how the origin cut its bytes does not matter).
    for (;;) {
      held = false;
      for (let at; (at = indexOfBytes(buf, prefix, from)) >= 0; ) {
        if (at + TAG_LEN > buf.length) break; // a partial marker: wait for the rest
        parts.push(buf.subarray(from, at));
        from = at;
        const id = parseInt(String.fromCharCode(...buf.subarray(at + prefix.length, at + TAG_LEN - 1)), 16);
        const p = holds.open.findIndex((x) => x.id === id);
        if (p < 0) {
          parts.push(buf.subarray(at, at + TAG_LEN)); // not ours
          from = at + TAG_LEN;
        } else if (holds.open[p].settled !== null) {
          parts.push(holds.open[p].settled);
          holds.open.splice(p, 1);
          from = at + TAG_LEN;
        } else {
          held = true;
          break;
        }
      }
      if (held && buf.length - from > MAX_HELD) {
        forceAll();
        continue;
      }
      break;
    }
    if (!held) {
      // Keep back what could be the start of a marker.
      const keep = end || !holds.open.length ? 0 : TAG_LEN - 1;
      const upto = Math.max(buf.length - keep, from);
      parts.push(buf.subarray(from, upto));
      from = upto;
    }
    if (end) holds.open.length = 0;
    buf = buf.slice(from);
    if (parts.length === 1) return parts[0];
    const ready = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of parts) ready.set(x, o), (o += x.length);
    return ready;
  };
  // The rewriter writes many small chunks, and every chunk a JS stream
  // handles costs: they are read in batches of at least BATCH bytes with
  // workerd's readAtLeast (the first read as soon as there is anything).
  const reader = body.getReader({ mode: "byob" });
  let min = 1;
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      for (;;) {
        const { value, done } = await reader.readAtLeast(min, new Uint8Array(2 * BATCH));
        min = BATCH;
        const out = pass(value ?? new Uint8Array(0), done);
        if (out.length) controller.enqueue(out);
        if (done) return controller.close();
        if (out.length) return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

// ---------------------------------------------------------------- pieces of a split price [piece]

const HINT_NONE = 0;
const HINT_WEAK = 1; // a class or id mentioning "price"
const HINT_STRONG = 2; // itemprop=price, data-price, configured selectors and attributes

/** One text node (or its head or tail) held while a split price is read. */
function piece(raw, ctx) {
  const v = new View(raw);
  const t = v.chars;
  let ls = 0;
  while (ls < t.length && isSpace(t[ls])) ls++;
  let le = t.length;
  while (le > ls && isSpace(t[le - 1])) le--;
  const a = v.range(0, ls)[1];
  const b = Math.max(v.range(0, le)[1], a);
  return { id: 0, lead: raw.slice(0, a), raw: raw.slice(a, b), trail: raw.slice(b), text: t.slice(ls, le).join(""), hint: ctx.hint, expected: ctx.expected, sup: ctx.sup };
}

const MARKER = 1;
const AMOUNT = 2;
const SEPARATOR = 3; // a lone `.` or `,` between the whole and the fraction
const FRACTION = 4; // a separator with the fraction (`,99`)

/** Whether a node's trimmed (decoded) content can be part of a split price. */
function pieceKind(core) {
  if (onlyMarker(core)) return MARKER;
  if (core === "." || core === ",") return SEPARATOR;
  if ((core[0] === "," || core[0] === ".") && /^[,.][0-9]{1,3}$/.test(core)) return FRACTION;
  if (!isDigit(core[0])) return null;
  const chars = Array.from(core);
  if (chars.length > 24) return null;
  const f = find(chars)[0];
  return f && f.marker === null && f.start === 0 && f.end === chars.length ? AMOUNT : null;
}

const hasMarker = (run) => run.some((p) => pieceKind(p.text) === MARKER);

/** Superscript minor units right after whole units (`83<sup>30</sup>`). */
const isSupFraction = (prev, core, sup) => sup && /^[0-9]{2}$/.test(core) && !!prev && !prev.sup && /^[0-9]*$/.test(prev.text);

const EXTENDS = 0;
const STARTS = 1; // ends the run and starts a new one
const CLASH = 2; // two amounts meet (`10,00` `12,00` in sibling spans): both stay

function fits(run, core, kind, sup) {
  const len = run.reduce((n, p) => n + utf8Length(p.text), 0) + utf8Length(core);
  const prev = run.at(-1);
  const prevKind = prev ? pieceKind(prev.text) : null;
  if (kind === AMOUNT && prevKind === AMOUNT) return isSupFraction(prev, core, sup) ? EXTENDS : CLASH;
  const extends_ = run.length < 6 && len <= 40 && !(kind === MARKER && hasMarker(run)) && prevKind !== kind;
  return extends_ ? EXTENDS : STARTS;
}

// ---------------------------------------------------------------- the stage [handler, convert, state]

/** A text node is carried whole up to this many bytes, then in a bounded tail. */
const CARRY_MAX = 512;
/** Tail (chars) kept back from a long node until its next piece. */
const TAIL = 48;

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (s) => (/[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c]) : s);

const newCtx = () => ({ raw: false, excluded: false, button: false, hint: HINT_NONE, only: false, sup: false, expected: null });

const BLOCKS = "div, p, li, ul, ol, dl, dt, dd, td, th, tr, table, section, article, header, footer, aside, nav, main, h1, h2, h3, h4, h5, h6, br, hr, img, input, form, label, body, head, svg, iframe, script, style";
const VOID = new Set(["br", "hr", "img", "input"]); // the void elements among BLOCKS
// Elements whose text the HTML parser does not read as text (lol_html's text types other than Data/RCData).
const RAW_TEXT = "script, style, iframe, xmp, noembed, noframes, noscript, plaintext";

/**
 * The price stage of one page.
 *  - `opts`: compilePrices(…)
 *  - `declared`: the shop's currencies, site currency first
 *  - `convert(currency)`: a converter from a declared currency into the visitor's, or null
 *  - `visitor`: the visitor's currency
 *  - `format(amount, currency)`: the visitor's format, or null
 *  - `reformat`: show prices that keep their currency in the visitor's format
 */
export class PriceStage {
  constructor(opts, { declared, convert, visitor, format, reformat }) {
    this.opts = opts;
    this.declared = declared;
    this.converters = new Map(declared.map((c) => [c, convert(c)]));
    this.visitor = visitor;
    this.format = format;
    this.reformat = reformat;
    this.holds = new Holds();
    this.ctx = newCtx();
    this.carry = "";
    this.carryBytes = 0;
    this.run = [];
    this.broken = false; // a block boundary since the run's last piece
    this.tainted = false; // the run met another amount: left alone
    this.signals = [];
    this.expected = null;
    this.jsonld = "";
  }

  /** Adds the stage's handlers to `rw`. */
  attach(rw) {
    const o = this.opts;
    const on = (selector, text) => rw.on(selector, { text });
    on(RAW_TEXT, () => void (this.ctx.raw = true));
    const excluded = ["template", "textarea", "option", "select", "[data-borderless-ignore]"];
    if (o.honorNotranslate) excluded.push("[translate=no]", '[translate="no"]', ".notranslate");
    const exclude = () => void (this.ctx.excluded = true);
    on(excluded.join(", "), exclude);
    for (const s of o.exclude) on(s, exclude);
    on("button", () => void (this.ctx.button = true));
    on("sup", () => void (this.ctx.sup = true));
    for (const s of o.only) on(s, () => void (this.ctx.only = true));
    on("[class*=price], [class*=Price], [id*=price], [id*=Price]", () => void (this.ctx.hint = Math.max(this.ctx.hint, HINT_WEAK)));
    // itemprop=price and data-price: strong hints; their value must agree with a bare amount inside.
    for (const [sel, attr] of [["[itemprop~=price][content]", "content"], ["[data-price]", "data-price"]]) {
      rw.on(sel, {
        element: (el) => {
          const v = el.getAttribute(attr);
          this.expected = v === null ? null : parseAmount(v);
        },
        text: () => {
          this.ctx.hint = HINT_STRONG;
          this.ctx.expected = this.ctx.expected ?? this.expected;
        },
      });
    }
    on("[itemprop~=price]", () => void (this.ctx.hint = HINT_STRONG));
    for (const s of o.hints) on(s, () => void (this.ctx.hint = HINT_STRONG));
    for (const { name, minor } of o.attributes) {
      rw.on(`[${name}]`, {
        element: (el) => {
          const v = parseAmount(el.getAttribute(name) ?? "");
          this.expected = v === null ? null : minor ? v / 10 ** digitsOf(this.declared[0]) : v;
        },
        text: () => {
          this.ctx.hint = HINT_STRONG;
          this.ctx.expected = this.expected;
        },
      });
    }
    // The page's own statements of its currency.
    rw.on('meta[property="og:price:currency"], meta[property="product:price:currency"], [itemprop~=priceCurrency]', {
      element: (el) => {
        const c = el.getAttribute("content");
        if (c !== null) this.addSignal(c);
      },
    });
    on('script[type="application/ld+json"]', (t) => this.scanJsonLd(t.text));
    // Block boundaries end a run of pieces.
    const broken = () => void (this.broken = true);
    rw.on(BLOCKS, {
      element: (el) => {
        this.broken = true;
        if (VOID.has(el.tagName)) return;
        try {
          el.onEndTag(broken);
        } catch {
          // a self-closing foreign element (`<svg/>`): no end tag
        }
      },
    });
    rw.onDocument({
      text: (t) => this.text(t),
      end: () => this.settle(),
    });
  }

  /** The response body with held output released. */
  release(body) {
    return release(this.holds, body);
  }

  addSignal(c) {
    c = rustTrim(c);
    if (isCode(c) && !this.signals.includes(c) && this.signals.length < 4) this.signals.push(c);
  }

  /** The page's statement of its currency, when it makes exactly one. */
  signal() {
    return this.signals.length === 1 ? this.signals[0] : null;
  }

  /** `"priceCurrency": "EUR"` in JSON-LD, across chunks. */
  scanJsonLd(s) {
    this.jsonld += s;
    const j = this.jsonld;
    for (let i = j.indexOf('"priceCurrency"'); i >= 0; i = j.indexOf('"priceCurrency"', i + 15)) {
      let k = i + 15;
      while (k < j.length && " \n\t\r:".includes(j[k])) k++;
      if (j[k] === '"' && j[k + 4] === '"') this.addSignal(j.slice(k + 1, k + 4));
    }
    // Keep the last 40 bytes.
    const cut = tailStart(j, 40);
    this.jsonld = j.slice(cut);
  }

  text(t) {
    const ctx = this.ctx;
    this.ctx = newCtx();
    // Visible text (the title's too); not text another handler replaced.
    if (ctx.raw || t.removed) return;
    if (!t.lastInTextNode) {
      this.carry += t.text;
      this.carryBytes += utf8Length(t.text);
      if (this.carryBytes <= CARRY_MAX) {
        t.remove();
        return;
      }
      // A long node: convert all but a bounded tail now.
      const text = this.carry;
      const view = new View(text);
      const found = find(view.chars);
      let cut = Math.max(view.chars.length - TAIL, 0);
      for (let f; (f = found.find((x) => x.start < cut && x.end + 8 > cut)); ) cut = f.start;
      const rawCut = view.range(0, cut)[1];
      this.runBreak();
      const head = this.mixed(text, view, found, cut);
      t.replace(head ?? text.slice(0, rawCut), { html: true });
      this.carry = text.slice(rawCut);
      this.carryBytes = utf8Length(this.carry);
      return;
    }
    if (!this.carry) {
      // The common case: the whole node in one piece.
      const out = this.node(t.text, ctx);
      if (out !== null) t.replace(out, { html: true });
      return;
    }
    const text = this.carry + t.text;
    this.carry = "";
    this.carryBytes = 0;
    t.replace(this.node(text, ctx) ?? text, { html: true });
  }

  /** Whether a node can be skipped unread: no digit, no run to continue, no sign at its end that could start one. */
  skippable(text) {
    if (this.run.length || /[0-9]/.test(text)) return false;
    const trimmed = trimSpace(text);
    if (utf8Length(trimmed) <= 12) return !trimmed; // short: could be a lone sign
    // Its last 16 bytes (whole characters).
    const cut = tailStart(trimmed, 16);
    const tail = new View(trimmed.slice(cut)).chars;
    return before(tail, tail.length) === null;
  }

  /** A whole text node (raw); its new raw HTML, or null when unchanged. */
  node(text, ctx) {
    if (this.skippable(text)) return null;
    const view = new View(text);
    const t = view.chars;
    let ls = 0;
    while (ls < t.length && isSpace(t[ls])) ls++;
    if (ls === t.length) return null;
    let le = t.length;
    while (isSpace(t[le - 1])) le--;
    const found = find(t);
    const outside = this.opts.only.length > 0 && !ctx.only;
    if (ctx.excluded || outside) {
      this.runBreak();
      return null;
    }
    const core = t.slice(ls, le).join("");
    const wholePrice = found.length === 1 && found[0].marker !== null && found[0].start === ls && found[0].end === le;
    if (ctx.button && !wholePrice) {
      this.runBreak();
      return null;
    }
    const kind = pieceKind(core);
    if (kind !== null) {
      if (this.broken) this.settle();
      const fit = fits(this.run, core, kind, ctx.sup);
      if (fit === STARTS) this.settle();
      else if (fit === CLASH) {
        this.tainted = true;
        this.settle();
        this.tainted = true;
      }
      if ((kind === SEPARATOR || kind === FRACTION) && !this.run.length) return null;
      this.broken = false;
      return this.push(text, view, 0, t.length, ctx);
    }
    let out = "";
    let from = 0; // chars of `t` already handled
    // A marker heading the node completes a run of bare digits (`32` `zł/m²`).
    if (this.run.length && !this.broken && !hasMarker(this.run)) {
      const m = after(t, ls);
      if (m && !found.some((f) => f.start <= ls && f.end > ls)) {
        out += this.push(text, view, 0, m[0], ctx);
        from = m[0];
      }
    }
    this.settle();
    // A marker ending the node may start a run (`最低價$` `<span>99`).
    let tailAt = t.length;
    const b = before(t, le);
    if (b && found.every((f) => f.end <= b[0]) && b[0] > from) tailAt = b[0];
    const body = text.slice(view.range(0, from)[1], view.range(0, tailAt)[1]);
    const sub = new View(body);
    const converted = this.mixed(body, sub, find(sub.chars), sub.chars.length);
    const changed = converted !== null || from > 0 || tailAt < t.length;
    out += converted ?? body;
    if (tailAt < t.length) {
      out += this.push(text, view, tailAt, t.length, ctx);
      this.broken = false;
    }
    return changed ? out : null;
  }

  /** Holds chars a..b of a node as a piece of the run; returns its marker. */
  push(text, view, a, b, ctx) {
    const [ra, rb] = view.range(a, b);
    const raw = text.slice(Math.min(ra, rb), rb);
    const p = piece(raw, ctx);
    const [id, tag] = this.holds.hold(raw);
    p.id = id;
    this.run.push(p);
    return tag;
  }

  /** Converts the marked prices among `found` that end by char `upto`; null when none. */
  mixed(raw, view, found, upto) {
    let out = "";
    let last = 0;
    let changed = false;
    for (const f of found) {
      if (f.marker === null || f.end > upto) continue;
      const formatted = this.price(f, null);
      if (formatted === null) continue;
      const [a, b] = view.range(f.start, f.end);
      out += raw.slice(last, a) + escape(formatted);
      last = b;
      changed = true;
    }
    return changed ? out + raw.slice(last, view.range(0, upto)[1]) : null;
  }

  runBreak() {
    this.settle();
    this.broken = false;
  }

  /** The currency of a found price, if the shop declares it. */
  currency(f) {
    const declared = this.declared;
    let c;
    if (f.marker === CODE) c = f.code;
    else if (f.marker?.one) c = f.marker.one;
    else if (f.marker?.any) {
      const list = f.marker.any;
      const s = this.signal();
      c = declared.find((d) => list.includes(d)) ?? (s !== null && list.includes(s) ? s : null);
    } else {
      const s = this.signal();
      c = s !== null && declared.includes(s) ? s : declared[0];
    }
    return c && declared.includes(c) ? c : null;
  }

  /** The visitor's formatted price for a found span; null leaves the origin's text. */
  price(f, expected) {
    const cur = this.currency(f);
    if (cur === null) return null;
    const value = parseCore(f.core, digitsOf(cur), this.opts.decimal);
    if (value === null) return null;
    if (expected !== null && Math.abs(expected - value) > 0.005) return null;
    const conv = this.converters.get(cur);
    // Without a conversion the price keeps its currency, in the visitor's format.
    const [shown, inCurrency] = conv ? [conv.convert(value), this.visitor] : [value, cur];
    if (inCurrency === cur && !this.reformat) return null;
    return this.format(shown, inCurrency);
  }

  /** Ends the run: converted if its pieces read as exactly one price, else every piece as it was. */
  settle() {
    const run = this.run;
    if (!run.length) return;
    this.run = [];
    // The run's text, each char with the piece it came from.
    const chars = [];
    const owner = [];
    run.forEach((p, i) => {
      if (i > 0 && isSupFraction(run[i - 1], p.text, p.sup)) chars.push(this.opts.decimal), owner.push(i);
      for (const c of p.text) chars.push(c), owner.push(i);
    });
    const found = find(chars);
    let result = null;
    const tainted = this.tainted;
    this.tainted = false;
    if (!tainted && found.length === 1) {
      const f = found[0];
      const hint = Math.max(...run.map((p) => p.hint));
      const bare = f.marker === null;
      const allowed = !bare || hint === HINT_STRONG || (hint === HINT_WEAK && /[.,-]/.test(f.core));
      if (f.start === 0 && f.end === chars.length && allowed) {
        const expected = bare ? (run.find((p) => p.expected !== null)?.expected ?? null) : null;
        const s = this.price(f, expected);
        if (s !== null) {
          const digit = chars.findIndex(isDigit);
          result = [owner[digit < 0 ? 0 : digit] ?? 0, s];
        }
      }
    }
    run.forEach((p, i) => {
      const html = result === null ? p.lead + p.raw + p.trail : result[0] === i ? p.lead + escape(result[1]) + p.trail : p.lead + p.trail;
      this.holds.settle(p.id, html);
    });
  }
}
