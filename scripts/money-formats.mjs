// Currency formats for a shop's locales, read from ICU through Node's Intl
// (the same CLDR data the tests use as oracle), as the worker's KV schema
// `MoneyFormats` (src/schema/mod.rs). Usage:
//   node scripts/money-formats.mjs de-DE,ja-JP EUR,JPY,GBP > formats.json
// Output: {"generator": "...", "locales": {"de-DE": MoneyFormats, ...}}
// Each format is sampled with formatToParts: affixes (the currency replaced
// by U+00A4), separators, group sizes, minimum grouping digits, digits.

const SAMPLE = 123456789012.5;

function affixes(nf, v) {
  let symbol = "";
  const parts = nf.formatToParts(v).map((p) => {
    if (p.type !== "currency") return p;
    symbol = p.value;
    return { type: "literal", value: "\u00a4" };
  });
  const numeric = (p) => ["integer", "group", "decimal", "fraction"].includes(p.type);
  const first = parts.findIndex(numeric);
  let last = -1;
  parts.forEach((p, i) => { if (numeric(p)) last = i; });
  return {
    prefix: parts.slice(0, first).map((p) => p.value).join(""),
    suffix: parts.slice(last + 1).map((p) => p.value).join(""),
    body: parts.slice(first, last + 1),
    symbol,
  };
}

export function moneyFormats(locale, currencies) {
  const formats = [];
  const seen = new Map();
  const out = {};
  for (const currency of currencies) {
    const nf = new Intl.NumberFormat(locale, { style: "currency", currency });
    const ro = nf.resolvedOptions();
    if (ro.minimumFractionDigits !== ro.maximumFractionDigits) throw new Error(`${locale} ${currency}: variable digits`);
    const digits = ro.maximumFractionDigits;
    const pos = affixes(nf, SAMPLE);
    const neg = affixes(nf, -SAMPLE);
    if (JSON.stringify(pos.body) !== JSON.stringify(neg.body)) throw new Error(`${locale} ${currency}: negative body differs`);
    const ints = pos.body.filter((p) => p.type === "integer").map((p) => [...p.value].length);
    const primary = ints.length > 1 ? ints[ints.length - 1] : 0;
    const secondary = ints.length > 2 ? ints[ints.length - 2] : primary;
    let minGrouping = 1;
    while (primary && minGrouping < 4 && !nf.formatToParts(10 ** (primary + minGrouping - 1)).some((p) => p.type === "group")) minGrouping++;
    const f = {
      pos_prefix: pos.prefix,
      pos_suffix: pos.suffix,
      neg_prefix: neg.prefix,
      neg_suffix: neg.suffix,
      decimal: digits ? pos.body.find((p) => p.type === "decimal").value : "",
      group: (pos.body.find((p) => p.type === "group") || { value: "" }).value,
      primary,
      secondary,
      min_grouping: minGrouping,
      zero: nf.formatToParts(0).find((p) => p.type === "integer").value,
      digits,
    };
    const key = JSON.stringify(f);
    if (!seen.has(key)) {
      seen.set(key, formats.length);
      formats.push(f);
    }
    out[currency] = { format: seen.get(key), symbol: pos.symbol };
  }
  return { formats, currencies: out };
}

export const generator = `Node ${process.version} ICU ${process.versions.icu} CLDR ${process.versions.cldr}`;

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const [locales, currencies] = process.argv.slice(2).map((a) => (a || "").split(",").filter(Boolean));
  if (!locales?.length || !currencies?.length) {
    console.error("usage: node scripts/money-formats.mjs LOCALE[,LOCALE...] CURRENCY[,CURRENCY...]");
    process.exit(2);
  }
  const result = { generator, locales: {} };
  for (const l of locales) result.locales[l] = moneyFormats(l, currencies);
  process.stdout.write(JSON.stringify(result));
}
