#!/usr/bin/env node
// Borderless demo origin: "Hearth & Hanger", a small made-up UK gift shop whose
// catalogue is built at startup from the UCI Online Retail log. Node 20, no deps.
// Usage: node demo/server.mjs [--port N] [--host H]   (env: PORT, BORDERLESS_RETAIL_CSV)
import http from 'node:http';
import fs from 'node:fs';
import zlib from 'node:zlib';
import readline from 'node:readline';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { once } from 'node:events';

const SHOP = 'Hearth & Hanger';
const N_PRODUCTS = 48;
const N_FEATURED = 12;
const CSV_PATH = process.env.BORDERLESS_RETAIL_CSV
  || fileURLToPath(new URL('../../shared/data/online-retail/online_retail.csv.gz', import.meta.url));

// ---------- catalogue ----------

// Real products have a 5-digit code, optionally followed by letters (85123A).
// Everything else (POST, DOT, M, C2, BANK CHARGES, gift_0001_20, DCGS...) is fees/samples.
const PRODUCT_CODE = /^\d{5}[A-Za-z]*$/;

// First matching rule wins; order matters ("PAPER CHAIN KIT 50'S CHRISTMAS" is Christmas).
const CATEGORY_RULES = [
  { slug: 'christmas', name: 'Christmas', re: /\b(CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER|SNOWFLAKES?)\b/ },
  { slug: 'candles', name: 'Candles & Lights', re: /\b(T-LIGHTS?|LANTERNS?|CANDLES?|LIGHTS?|TEALIGHTS?)\b/ },
  { slug: 'bags', name: 'Bags', re: /\b(BAGS?|SHOPPER|PURSE|WALLET)\b/ },
  { slug: 'kitchen', name: 'Kitchen', re: /\b(CAKES?|CAKESTAND|MUGS?|TEA|TEATIME|LUNCH BOX|JARS?|JAM|JELLY|POPCORN|BOWLS?|PLATES?)\b/ },
  { slug: 'decor', name: 'Home Decor', re: /\b(HEARTS?|SIGN|FRAME|CLOCK|WICKER|ORNAMENT|CUSHION|DOORMAT|HOOKS?|HANGER)\b/ },
  { slug: 'party', name: 'Party', re: /\b(PARTY|BUNTING|PAPER|NAPKINS|BIRTHDAY|BALLOONS?)\b/ },
  { slug: 'gifts', name: 'Gifts', re: /^/ },
];

// Minimal RFC 4180 line parser (quoted fields, "" escapes). Records never span lines in this file.
function parseCsvLine(line) {
  const out = [];
  let field = '', quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (line[i + 1] === '"') { field += '"'; i++; }
      else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(field); field = ''; }
    else field += c;
  }
  out.push(field);
  return out;
}

const SMALL_WORDS = new Set(['a', 'an', 'and', 'as', 'at', 'for', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);
const ACRONYMS = new Set(['LED', 'UK', 'USA', 'DIY', 'PHOTO/CD']);

// "PACK OF 72 RETROSPOT CAKE CASES" -> "Pack of 72 Retrospot Cake Cases"
function titleCase(desc) {
  const clean = desc.replace(/\s+/g, ' ').replace(/ ,/g, ',').replace(/[\s.,]+$/, '').trim();
  return clean.split(' ').map((w, i) => {
    if (ACRONYMS.has(w)) return w;
    const lower = w.toLowerCase();
    if (i > 0 && SMALL_WORDS.has(lower)) return lower;
    return lower.replace(/(^|[-/(])([a-z])/g, (_, p, c) => p + c.toUpperCase());
  }).join(' ');
}

const bump = (map, key) => map.set(key, (map.get(key) || 0) + 1);
const mostCommon = (map) => [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];

async function loadCatalog(file) {
  let input = fs.createReadStream(file);
  if (file.endsWith('.gz')) input = input.pipe(zlib.createGunzip());
  const stats = new Map(); // code -> aggregates
  let header = true;
  // A plain 'line' handler optimises much better than a for-await loop (~2x faster here).
  const onLine = (line) => {
    if (header) { header = false; return; }
    const f = line.includes('"') ? parseCsvLine(line) : line.split(',');
    if (f.length < 8 || !PRODUCT_CODE.test(f[1])) return;
    const code = f[1].toUpperCase(); // a few codes appear lower-cased (85123a)
    const qty = Number(f[3]), price = Number(f[5]);
    let s = stats.get(code);
    if (!s) stats.set(code, s = { sold: 0, cancelled: 0, orders: 0, uk: false, prices: new Map(), descs: new Map(), countries: new Set() });
    if (f[0].startsWith('C')) { s.cancelled -= qty; return; } // cancellations carry negative quantities
    if (!(qty > 0) || !(price > 0)) return; // stock adjustments, damages, free samples
    s.sold += qty;
    s.orders++;
    bump(s.prices, f[5]);
    if (f[2].trim()) bump(s.descs, f[2]);
    if (f[7] !== 'United Kingdom') s.countries.add(f[7]); // skipping the 90% UK rows keeps startup fast
    else s.uk = true;
  };
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  rl.on('line', onLine);
  await once(rl, 'close'); // rejects on read/gunzip errors (readline forwards them)
  // Best sellers by purchased quantity net of cancellations (so one huge order that was
  // cancelled straight away does not become the shop's top product).
  return [...stats]
    .filter(([, s]) => s.descs.size && s.sold - s.cancelled > 0)
    .map(([code, s]) => ({ code, s, net: s.sold - s.cancelled }))
    .sort((a, b) => b.net - a.net || (a.code < b.code ? -1 : 1))
    .slice(0, N_PRODUCTS)
    .map(({ code, s, net }) => {
      const raw = mostCommon(s.descs);
      const price = Number(mostCommon(s.prices)); // raw strings: 2.1 and 2.10 never both occur
      const cat = CATEGORY_RULES.find((c) => c.re.test(raw.toUpperCase()));
      return {
        code, title: titleCase(raw), cat, price, priceStr: price.toFixed(2),
        sold: net, orders: s.orders, countries: s.countries.size + (s.uk ? 1 : 0),
      };
    });
}

// ---------- HTML helpers ----------

// Attributes are always double-quoted, so ' needs no escaping.
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
const GBP = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });
const INT = new Intl.NumberFormat('en-GB');

// A UI string: <tag data-i18n="key">English</tag>. The text must stay exactly the English text.
const t = (tag, key, text, attrs = '') => `<${tag}${attrs ? ' ' + attrs : ''} data-i18n="${key}">${esc(text)}</${tag}>`;

const CSS = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#2b2622;background:#fbf8f4}
a{color:#9a3e22}a:hover{color:#6e2a15}.wrap{max-width:1120px;margin:0 auto;padding:0 20px}
.topbar{background:#2f4a3a;color:#f3efe6;text-align:center;font-size:.85rem;padding:6px}
header.site{background:#fff;border-bottom:1px solid #e8e0d5}
.bar{display:flex;align-items:center;gap:20px;padding-top:14px;padding-bottom:14px;flex-wrap:wrap}
.logo{font:700 1.6rem Georgia,serif;color:#2f4a3a;text-decoration:none;margin-right:auto}
.search{display:flex;gap:6px}.search input{padding:8px 10px;border:1px solid #cfc4b6;border-radius:6px;min-width:220px}
button,.btn{background:#9a3e22;color:#fff;border:0;border-radius:6px;padding:9px 16px;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button:hover,.btn:hover{background:#7d3119;color:#fff}
.account{display:flex;align-items:center;gap:14px;font-size:.95rem}.basket{font-weight:600}
nav.cats{display:flex;gap:18px;padding-bottom:12px;flex-wrap:wrap}nav.cats a{text-decoration:none;color:#2b2622;font-weight:500}
nav.cats a:hover{color:#9a3e22}
.hero{background:linear-gradient(120deg,#f1e4d3,#e6efe6);border-radius:14px;padding:40px;margin:24px 0}
.hero h1{font:700 2.2rem Georgia,serif;margin:0 0 8px}.hero p{max-width:560px}
h1,h2{font-family:Georgia,serif}.crumbs{font-size:.9rem;margin:18px 0}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:8px}.tiles a{background:#fff;border:1px solid #e8e0d5;border-radius:20px;padding:6px 14px;text-decoration:none}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:20px;margin:16px 0 32px}
.card{background:#fff;border:1px solid #e8e0d5;border-radius:10px;padding:12px;display:flex;flex-direction:column}
.card a{text-decoration:none;color:inherit}.card img,.product img{width:100%;height:auto;border-radius:8px;display:block}
.card h3{font-size:1rem;font-weight:500;margin:10px 0 6px}.price{font-weight:700;font-size:1.1rem;color:#2f4a3a}
.product{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:36px;margin:8px 0 32px}
.product h1{margin-top:0}.product .price{font-size:1.6rem}.sku,.stock{color:#6b625a;font-size:.9rem}
form.buy{display:flex;gap:10px;align-items:center;margin:18px 0}form.buy input{width:64px;padding:8px;border:1px solid #cfc4b6;border-radius:6px}
.notice{background:#fff;border:1px solid #e8e0d5;border-radius:10px;padding:28px;margin:24px 0}
footer{background:#2f4a3a;color:#e9e4da;margin-top:40px;padding:28px 0;font-size:.9rem}footer ul{list-style:none;padding:0;display:flex;gap:24px;flex-wrap:wrap}
.borderless-switcher{display:flex;flex-direction:column;gap:4px;font-size:.8rem}
.borderless-switcher ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:2px 8px;max-width:360px}
.borderless-switcher a{text-decoration:none}.borderless-switcher a[aria-current]{font-weight:700;color:#2b2622}
.borderless-block{margin:24px 0}.borderless-heading{font-size:1.3rem;margin:0 0 10px}
.borderless-cards{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:16px}
.borderless-card{background:#fff;border:1px solid #e8e0d5;border-radius:10px;padding:10px;display:flex;flex-direction:column;gap:6px}
.borderless-card a{text-decoration:none;color:inherit;display:flex;flex-direction:column;gap:6px}
.borderless-card img{width:100%;height:auto;border-radius:8px}.borderless-price{font-weight:700;color:#2f4a3a}
.borderless-promo-text{margin:12px 0 0;font-weight:600}
@media (max-width:700px){.product{grid-template-columns:1fr}.hero{padding:24px}}`;

let CATS = []; // categories that have products, in nav order
let PRODUCTS = [];
let BY_CODE = new Map();

function layout({ title, titleKey, body, head = '' }) {
  const nav = CATS.map((c) => t('a', `category.${c.slug}`, c.name, `href="/c/${c.slug}"`)).join('\n');
  return `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${titleKey ? t('title', titleKey, title) : `<title>${esc(title)}</title>`}
<link rel="icon" href="data:,">
${head}<style>${CSS}</style>
</head>
<body>
<div class="topbar">${t('span', 'header.free_delivery', 'Free UK delivery over £30')}</div>
<header class="site">
<div class="wrap bar">
<a class="logo" href="/">${esc(SHOP)}</a>
<form class="search" action="/search" method="get" role="search">
<input type="search" name="q" placeholder="Search gifts, bags, candles…" title="Search the shop" data-i18n-attr="placeholder:search.placeholder,title:search.title">
${t('button', 'search.button', 'Search', 'type="submit"')}
</form>
<div class="account">
<span data-borderless-greeting data-i18n="header.greeting">Welcome</span>
<div data-borderless-slot="switcher"></div>
${t('a', 'nav.basket', 'Basket', 'class="basket" href="/cart"')}
</div>
</div>
<nav class="wrap cats" aria-label="Categories" data-i18n-attr="aria-label:nav.categories">
${t('a', 'nav.home', 'Home', 'href="/"')}
${nav}
</nav>
</header>
<main class="wrap">
${body}
</main>
<footer>
<div class="wrap">
${t('p', 'footer.tagline', 'Thoughtful gifts and homeware, packed by hand in Britain.')}
<ul>
${t('li', 'footer.free_delivery', 'Free UK delivery over £30')}
${t('li', 'footer.returns', 'Free 30-day returns')}
${t('li', 'footer.secure', 'Secure checkout')}
${t('li', 'footer.vat', 'All prices include VAT')}
</ul>
<p>© ${esc(SHOP)} · ${t('span', 'footer.demo', 'This is a demo shop: no real orders are taken.')}</p>
</div>
</footer>
</body>
</html>
`;
}

const offer = (p) => `<div class="offer" itemprop="offers" itemscope itemtype="https://schema.org/Offer">
<meta itemprop="priceCurrency" content="GBP">
<span class="price" itemprop="price" content="${p.priceStr}" data-price="${p.priceStr}" data-currency="GBP">${GBP.format(p.price)}</span>
<link itemprop="availability" href="https://schema.org/InStock">
</div>`;

const card = (p) => `<article class="card" data-product-id="${esc(p.code)}" itemscope itemtype="https://schema.org/Product">
<a href="/p/${esc(p.code)}" itemprop="url"><img src="/product-images/${esc(p.code)}.svg" width="240" height="240" alt="${esc(p.title)}" loading="lazy" itemprop="image">
<h3 itemprop="name">${esc(p.title)}</h3></a>
<meta itemprop="sku" content="${esc(p.code)}">
${offer(p)}
</article>`;

const grid = (items) => `<div class="grid">\n${items.map(card).join('\n')}\n</div>`;

// ---------- pages ----------

function homePage() {
  const tiles = CATS.map((c) => t('a', `category.${c.slug}`, c.name, `href="/c/${c.slug}"`)).join('\n');
  return layout({
    title: `${SHOP} – Gifts & homeware from Britain`, titleKey: 'home.page_title',
    head: '<meta name="description" content="Gifts, homeware and cosy lights from a small British shop." data-i18n-attr="content:home.meta_description">\n',
    body: `<section class="hero">
${t('h1', 'home.hero_title', 'Gifts they’ll actually keep')}
${t('p', 'home.hero_text', 'Hand-picked homeware, kitchen treats and cosy lights from our little shop in Britain, shipped worldwide.')}
${t('a', 'home.hero_cta', 'Shop bestsellers', 'class="btn" href="#bestsellers"')}
<div data-borderless-slot="promo"></div>
</section>
${t('h2', 'home.categories_title', 'Shop by category')}
<div class="tiles">
${tiles}
</div>
<section data-borderless-slot="buy-again"></section>
<section data-borderless-slot="recommendations"></section>
<section data-borderless-slot="for-you"></section>
<section id="bestsellers">
${t('h2', 'home.bestsellers_title', 'Bestsellers')}
${grid(PRODUCTS.slice(0, N_FEATURED))}
</section>
<section data-borderless-slot="recently-viewed"></section>`,
  });
}

function categoryPage(cat) {
  return layout({
    title: `${cat.name} – ${SHOP}`,
    body: `<p class="crumbs">${t('a', 'nav.home', 'Home', 'href="/"')} › ${t('span', `category.${cat.slug}`, cat.name)}</p>
${t('h1', `category.${cat.slug}`, cat.name)}
${grid(PRODUCTS.filter((p) => p.cat === cat))}
<section data-borderless-slot="recently-viewed"></section>`,
  });
}

function productPage(p) {
  const desc = `${p.title} from our ${p.cat.name} range. A ${SHOP} bestseller: ${INT.format(p.sold)} sold so far in ${INT.format(p.orders)} orders from ${p.countries} ${p.countries === 1 ? 'country' : 'countries'}.`;
  const sameCat = PRODUCTS.filter((q) => q !== p && q.cat === p.cat);
  const others = PRODUCTS.filter((q) => q !== p && q.cat !== p.cat);
  const related = [...sameCat, ...others].slice(0, 4);
  const ld = {
    '@context': 'https://schema.org', '@type': 'Product', sku: p.code, name: p.title, description: desc,
    category: p.cat.name, image: `/product-images/${p.code}.svg`, url: `/p/${p.code}`,
    offers: { '@type': 'Offer', price: p.priceStr, priceCurrency: 'GBP', availability: 'https://schema.org/InStock' },
  };
  const json = JSON.stringify(ld).replace(/</g, '\\u003c');
  return layout({
    title: `${p.title} – ${SHOP}`,
    head: `<link rel="canonical" href="/p/${esc(p.code)}">\n<script type="application/ld+json">${json}</script>\n`,
    body: `<p class="crumbs">${t('a', 'nav.home', 'Home', 'href="/"')} › ${t('a', `category.${p.cat.slug}`, p.cat.name, `href="/c/${p.cat.slug}"`)}</p>
<article class="product" data-product-id="${esc(p.code)}" itemscope itemtype="https://schema.org/Product">
<div><img src="/product-images/${esc(p.code)}.svg" width="480" height="480" alt="${esc(p.title)}" itemprop="image"></div>
<div>
<h1 itemprop="name">${esc(p.title)}</h1>
<p class="sku">${t('span', 'product.item_code', 'Item code')} <span itemprop="sku">${esc(p.code)}</span></p>
${offer(p)}
<p class="stock">${t('span', 'product.in_stock', 'In stock')}</p>
<form class="buy" method="post" action="/cart">
<input type="hidden" name="code" value="${esc(p.code)}">
${t('label', 'product.quantity', 'Quantity', 'for="qty"')}
<input id="qty" name="qty" type="number" value="1" min="1" max="99">
${t('button', 'product.add_to_basket', 'Add to basket', 'type="submit"')}
</form>
${t('h2', 'product.description_title', 'Description')}
<p itemprop="description">${esc(desc)}</p>
${t('p', 'product.delivery_note', 'Dispatched within 2 working days. Free UK delivery over £30.')}
</div>
</article>
<section data-borderless-slot="also-bought"></section>
<section class="related">
${t('h2', 'product.also_like', 'You may also like')}
${grid(related)}
</section>`,
  });
}

function cartPage() {
  return layout({
    title: `Your basket – ${SHOP}`, titleKey: 'cart.page_title',
    body: `${t('h1', 'cart.title', 'Your basket')}
<div class="notice">
${t('p', 'cart.empty', 'Your basket is empty.')}
${t('a', 'cart.continue', 'Continue shopping', 'class="btn" href="/"')}
</div>`,
  });
}

function searchPage(q) {
  const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
  const hits = terms.length
    ? PRODUCTS.filter((p) => { const hay = `${p.title} ${p.cat.name} ${p.code}`.toLowerCase(); return terms.every((w) => hay.includes(w)); })
    : [];
  let result;
  if (!terms.length) result = t('p', 'search.prompt', 'Type a word above to search the shop.');
  else if (!hits.length) result = `${t('p', 'search.no_results', 'Sorry, nothing matched your search.')}\n${t('a', 'search.browse_all', 'Browse our bestsellers', 'href="/#bestsellers"')}`;
  else result = grid(hits);
  return layout({
    title: `Search – ${SHOP}`, titleKey: 'search.page_title',
    body: `${t('h1', 'search.results_title', 'Search results')}
${terms.length ? `<p>${t('span', 'search.results_for', 'Results for')} <q>${esc(q)}</q></p>\n` : ''}${result}`,
  });
}

function notFoundPage() {
  return layout({
    title: `Page not found – ${SHOP}`, titleKey: 'error.page_title',
    body: `<div class="notice">
${t('h1', 'error.not_found_title', 'Page not found')}
${t('p', 'error.not_found_text', 'Sorry, we couldn’t find that page. It may have moved or sold out.')}
${t('a', 'error.back_home', 'Back to the shop', 'class="btn" href="/"')}
</div>`,
  });
}

// Simple per-category icon on a colour derived from the stock code.
const ICONS = {
  gifts: '<rect x="150" y="180" width="180" height="130" rx="8"/><rect x="138" y="146" width="204" height="40" rx="6"/><rect x="228" y="146" width="24" height="164" fill="#fff" opacity=".6"/>',
  candles: '<rect x="205" y="180" width="70" height="140" rx="6"/><path d="M240 100c22 32 20 60 0 68c-20-8-22-36 0-68z" fill="#f2a93b"/>',
  bags: '<path d="M150 190h180l-16 140H166z"/><path d="M195 190v-28a45 45 0 0 1 90 0v28" fill="none" stroke-width="14"/>',
  kitchen: '<rect x="160" y="160" width="130" height="150" rx="14"/><path d="M290 190h18a34 34 0 0 1 0 72h-18" fill="none" stroke-width="16"/>',
  christmas: '<path d="M240 90l80 120h-38l58 100H140l58-100h-38z"/><rect x="225" y="310" width="30" height="32"/>',
  decor: '<path d="M240 320C120 240 130 150 195 150c25 0 40 15 45 30c5-15 20-30 45-30c65 0 75 90-45 170z"/>',
  party: '<path d="M90 150q150 50 300 0" fill="none" stroke-width="6"/><path d="M120 160l40 90l20-78zM200 172l40 90l38-88zM300 168l22 90l46-106z"/>',
};

function svgImage(code) {
  const p = BY_CODE.get(code);
  const hue = parseInt(crypto.createHash('sha1').update(code).digest('hex').slice(0, 6), 16) % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="480" viewBox="0 0 480 480" role="img" aria-label="${esc(code)}">
<rect width="480" height="480" fill="hsl(${hue},55%,88%)"/>
<g fill="hsl(${hue},45%,42%)" stroke="hsl(${hue},45%,42%)">${ICONS[p.cat.slug] || ICONS.gifts}</g>
<text x="240" y="420" text-anchor="middle" font-family="system-ui,sans-serif" font-size="28" fill="hsl(${hue},40%,28%)">${esc(code)}</text>
</svg>
`;
}

// ---------- HTTP ----------

function send(req, res, status, type, body, headers = {}) {
  const buf = Buffer.from(body);
  const etag = `W/"${crypto.createHash('sha1').update(buf).digest('base64url').slice(0, 22)}"`;
  res.setHeader('Content-Type', type);
  res.setHeader('ETag', etag);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const inm = req.headers['if-none-match'];
  if (status === 200 && inm && (inm.trim() === '*' || inm.split(',').some((v) => v.trim().replace(/^W\//, '') === etag.slice(2)))) {
    res.writeHead(304).end();
    return;
  }
  res.setHeader('Content-Length', buf.length);
  res.writeHead(status);
  res.end(req.method === 'HEAD' ? undefined : buf);
}

// First visit (no shop_session cookie): hand out a random session id.
function sessionCookie(req) {
  if (/(?:^|;\s*)shop_session=/.test(req.headers.cookie || '')) return {};
  return { 'Set-Cookie': `shop_session=${crypto.randomBytes(16).toString('hex')}; Path=/; HttpOnly; SameSite=Lax` };
}

const HTML = 'text/html; charset=utf-8';

function route(req, res) {
  const url = new URL(req.url, 'http://origin.invalid');
  const path = url.pathname;
  const html = (status, body) => send(req, res, status, HTML, body, { 'Cache-Control': 'public, max-age=60', ...sessionCookie(req) });

  if (path === '/cart' && req.method === 'POST') {
    req.resume(); // ignore the form body; the demo basket stays empty
    req.on('end', () => res.writeHead(303, { Location: '/cart', 'Content-Length': 0, ...sessionCookie(req) }).end());
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: path === '/cart' ? 'GET, HEAD, POST' : 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  if (path === '/healthz') return send(req, res, 200, 'text/plain; charset=utf-8', 'ok', { 'Cache-Control': 'no-store' });
  if (path === '/') return html(200, homePage());
  if (path === '/cart') return html(200, cartPage());
  if (path === '/search') return html(200, searchPage((url.searchParams.get('q') || '').trim().slice(0, 100)));

  let m = /^\/c\/([a-z]+)$/.exec(path);
  const cat = m && CATS.find((c) => c.slug === m[1]);
  if (cat) return html(200, categoryPage(cat));

  m = /^\/p\/([0-9A-Za-z]+)$/.exec(path);
  if (m && BY_CODE.has(m[1].toUpperCase())) {
    const code = m[1].toUpperCase();
    if (code !== m[1]) { res.writeHead(301, { Location: `/p/${code}`, 'Content-Length': 0 }).end(); return; }
    return html(200, productPage(BY_CODE.get(code)));
  }

  m = /^\/product-images\/([0-9A-Z]+)\.svg$/.exec(path);
  if (m && BY_CODE.has(m[1])) return send(req, res, 200, 'image/svg+xml', svgImage(m[1]), { 'Cache-Control': 'public, max-age=86400' });

  return html(404, notFoundPage());
}

// ---------- main ----------

function options() {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } });
  const port = Number(values.port ?? process.env.PORT ?? 8790);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${values.port ?? process.env.PORT}`);
  return { host: values.host ?? '127.0.0.1', port };
}

async function main() {
  const { host, port } = options();
  let server = null;
  const stop = () => {
    if (!server) process.exit(0); // still loading the catalogue
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (!fs.existsSync(CSV_PATH)) throw new Error(`retail data not found: ${CSV_PATH} (set BORDERLESS_RETAIL_CSV)`);
  PRODUCTS = await loadCatalog(CSV_PATH);
  if (!PRODUCTS.length) throw new Error(`no products found in ${CSV_PATH}`);
  BY_CODE = new Map(PRODUCTS.map((p) => [p.code, p]));
  CATS = CATEGORY_RULES.filter((c) => PRODUCTS.some((p) => p.cat === c));

  server = http.createServer((req, res) => {
    try { route(req, res); } catch (err) {
      console.error(err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  });
  server.on('error', (err) => { console.error(`demo origin: ${err.message}`); process.exit(1); }); // e.g. EADDRINUSE
  server.listen(port, host, () => {
    const shown = host.includes(':') ? `[${host}]` : host;
    console.log(`demo origin listening on http://${shown}:${server.address().port} (${PRODUCTS.length} products)`);
  });
}

main().catch((err) => { console.error(`demo origin: ${err.message}`); process.exit(1); });
