// Writes the demo store's translated catalogs (demo/translations/<locale>.po)
// from its source catalog (demo/catalog/source.pot, written by
// `borderless extract` against the demo origin: see the README) and the
// hand-made translations in demo/translations/handmade.json. Product titles,
// promo lines and the brand come from handmade.json; the per-product texts
// built from them (page titles, descriptions) are composed here per locale,
// with the categories' names from demo/i18n. Node 20, no deps.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const hand = JSON.parse(readFileSync(join(root, "demo/translations/handmade.json"), "utf8"));
const LOCALES = ["de-DE", "fr-FR", "ja-JP"];
const SHOP = "Hearth &amp; Hanger";
const CATEGORIES = {
  Christmas: "christmas", "Candles &amp; Lights": "candles", Bags: "bags", Kitchen: "kitchen",
  "Home Decor": "decor", Party: "party", Gifts: "gifts",
};
// Notation escapes `&`, `<`, `>` (the dictionaries hold plain text).
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const category = (loc, name) => {
  const dict = JSON.parse(readFileSync(join(root, `demo/i18n/${loc}.json`), "utf8"));
  const v = dict.entries[`category.${CATEGORIES[name]}`];
  return v === undefined ? undefined : esc(v);
};
const DESCRIPTION = {
  "de-DE": (t, c, [a, b, n], one) => `${t} aus unserem Sortiment ${c}. Ein Bestseller von ${SHOP}: bisher ${a} Mal verkauft, in ${b} Bestellungen aus ${n} ${one ? "Land" : "Ländern"}.`,
  "fr-FR": (t, c, [a, b, n]) => `${t}, de notre gamme ${c}. Un best-seller de ${SHOP}\u00a0: ${a} vendus à ce jour, en ${b} commandes depuis ${n} pays.`,
  "ja-JP": (t, c, [a, b, n]) => `${c}コレクションの「${t}」。${SHOP}のベストセラー：これまでに${n}か国から${b}件の注文、${a}個を販売しました。`,
};
const DESC = new RegExp(`^(.*) from our (.*) range\\. A ${SHOP} bestseller: (<n\\d+/>) sold so far in (<n\\d+/>) orders from (<n\\d+/>) (countries|country)\\.$`);

function translate(msgid, loc) {
  const own = hand[msgid]?.[loc];
  if (own !== undefined) return own;
  if (msgid === `<g1>${SHOP}</g1>` || msgid === `© ${SHOP} ·`) return msgid; // the brand
  const title = (t) => hand[t]?.[loc] ?? (CATEGORIES[t] ? category(loc, t) : undefined);
  const page = msgid.match(new RegExp(`^(.*) – ${SHOP}$`));
  if (page && title(page[1]) !== undefined) return `${title(page[1])} – ${SHOP}`;
  const d = msgid.match(DESC);
  if (d && title(d[1]) !== undefined && category(loc, d[2]) !== undefined) {
    return DESCRIPTION[loc](title(d[1]), category(loc, d[2]), [d[3], d[4], d[5]], d[6] === "country");
  }
  return undefined;
}

// The msgids of a PO file (continuation lines joined, escapes undone).
function msgids(po) {
  const out = [];
  let cur = null;
  const unq = (s) => JSON.parse(s);
  for (const line of po.split("\n")) {
    if (line.startsWith("msgid ")) cur = unq(line.slice(6));
    else if (line.startsWith('"') && cur !== null) cur += unq(line);
    else if (cur !== null) { out.push(cur); cur = null; }
  }
  if (cur !== null) out.push(cur);
  return out.filter((m) => m !== "");
}

const q = (s) => JSON.stringify(s).replace(/\\u00a0/g, "\u00a0");
const source = msgids(readFileSync(join(root, "demo/catalog/source.pot"), "utf8"));
const promos = JSON.parse(readFileSync(join(root, "demo/config.json"), "utf8")).personalization.promos.map((p) => esc(p.text));
const all = [...new Set([...source, ...promos])];
for (const loc of LOCALES) {
  const header = [
    "Project-Id-Version: borderless demo store", "PO-Revision-Date: 2026-11-29 12:00+0000",
    "Last-Translator: Borderless demo <noreply@example.invalid>", "Language-Team: none",
    `Language: ${loc}`, "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
    "Content-Transfer-Encoding: 8bit",
  ];
  let po = `msgid ""\nmsgstr ""\n${header.map((h) => q(`${h}\n`)).join("\n")}\n`;
  const missing = [];
  for (const id of all) {
    const t = translate(id, loc);
    if (t === undefined) { missing.push(id); continue; }
    po += `\nmsgid ${q(id)}\nmsgstr ${q(t)}\n`;
  }
  writeFileSync(join(root, `demo/translations/${loc}.po`), po);
  console.log(`[demo-translations] ${loc}: ${all.length - missing.length}/${all.length} translated`);
  for (const m of missing) console.log(`  not translated: ${m}`);
}
