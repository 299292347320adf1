// The demo shop through the worker (real demo bundle) in a real browser:
// headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
// Visitors from Germany, Japan and Saudi Arabia, pinned with preview headers;
// assertions on the rendered DOM; screenshots to docs/screenshots/.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";
import {
  startWorker,
  startDemoOrigin,
  demoBundle,
  expectedPrice,
  intlPrice,
  currencySymbol,
  ROOT,
  DEMO_BUNDLE_PATH,
  DEMO_CONFIG_PATH,
} from "./harness.mjs";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "docs", "screenshots");
const NOW = "2026-12-24T18:30:00Z";
const CONFIG = JSON.parse(fs.readFileSync(DEMO_CONFIG_PATH, "utf8"));
const FX = JSON.parse(fs.readFileSync(path.join(ROOT, "demo", "fx.json"), "utf8"));
const strings = (locale) => JSON.parse(fs.readFileSync(path.join(ROOT, "demo", "i18n", `${locale}.json`), "utf8")).entries;

// `browserLocale` is what the visitor's browser is set to (its Accept-Language).
const VISITORS = [
  { name: "Germany", country: "DE", timezone: "Europe/Berlin", browserLocale: "de-DE", locale: "de-DE", currency: "EUR", shot: { page: "home", file: "home-de.png" } },
  { name: "Japan", country: "JP", timezone: "Asia/Tokyo", browserLocale: "ja-JP", locale: "ja-JP", currency: "JPY", shot: { page: "home", file: "home-ja.png" } },
  { name: "Saudi Arabia", country: "SA", timezone: "Asia/Riyadh", browserLocale: "ar-SA", locale: "ar-AE", currency: "SAR", dir: "rtl", shot: { page: "product", file: "product-ar.png" } },
];

let demo;
let worker;
let browser;
let userAgent; // headless Chromium says "HeadlessChrome", which the worker rightly counts as a bot
const url = (p) => new URL(p, worker.base).href;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install chromium (make setup does it)`);
  demoBundle(); // fails with "run `make demo-bundle`" when it was never built
  fs.mkdirSync(SHOTS, { recursive: true });
  [demo, browser] = await Promise.all([
    startDemoOrigin(),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    }),
  ]);
  worker = await startWorker({ origin: demo.url, bundle: DEMO_BUNDLE_PATH });
  const major = browser.version().split(".")[0];
  userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
});
after(async () => {
  await browser?.close();
  await worker?.close();
  await demo?.close();
});

/** What the page shows in the DOM, read in the browser. */
function readPage(page) {
  return page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    const price = q(".card .price") || q(".price");
    const sw = q("nav.borderless-switcher");
    return {
      lang: document.documentElement.lang,
      dir: document.documentElement.dir,
      direction: getComputedStyle(document.body).direction,
      basket: q("a.basket")?.innerText.trim(),
      greeting: q("[data-borderless-greeting]")?.innerText.trim(),
      price: price?.textContent,
      amount: price?.getAttribute("data-price"),
      productPrice: q(".product .price")?.textContent,
      productAmount: q(".product .price")?.getAttribute("data-price"),
      switcherLinks: sw ? [...sw.querySelectorAll("a")].map((a) => ({ text: a.textContent, current: a.getAttribute("aria-current") })) : [],
      firstProduct: q(".card a[href^='/p/']")?.getAttribute("href"),
    };
  });
}

/** A full-page screenshot once every image (lazy ones too) has loaded. */
async function screenshot(page, file) {
  await page.evaluate(() => document.querySelectorAll("img[loading=lazy]").forEach((i) => (i.loading = "eager")));
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 10_000 });
  await page.screenshot({ path: path.join(SHOTS, file), fullPage: true });
}

const priceFor = (v, amount) =>
  intlPrice(v.locale, v.currency, expectedPrice(amount, FX.rates[v.currency], v.currency, CONFIG.localization.rounding[v.currency]));

/** Font families fontconfig has for a language ([] when fc-list is missing). */
function fontsFor(lang) {
  try {
    return execFileSync("fc-list", [`:lang=${lang}`, "family"], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe("the demo shop in Chromium", () => {
  test("fonts for the screenshots (a missing one only warns: glyphs would show as boxes)", (t) => {
    for (const [lang, pkg] of [["ja", "fonts-noto-cjk"], ["ar", "fonts-noto-core"]]) {
      const fonts = fontsFor(lang);
      if (fonts.length) t.diagnostic(`${lang}: ${fonts.length} font families, e.g. ${fonts[0]}`);
      else t.diagnostic(`WARNING: no font covers "${lang}": its glyphs render as boxes in the screenshots; apt-get install ${pkg}`);
    }
  });

  for (const v of VISITORS) {
    test(`${v.name}: ${v.locale}${v.dir ? " (rtl)" : ""}, ${v.currency}`, async () => {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        deviceScaleFactor: 1,
        locale: v.browserLocale,
        timezoneId: v.timezone,
        userAgent,
      });
      try {
        await context.setExtraHTTPHeaders({
          "x-borderless-country": v.country,
          "x-borderless-timezone": v.timezone,
          "x-borderless-now": NOW,
        });
        const page = await context.newPage();
        const dict = strings(v.locale);
        const symbol = currencySymbol(v.locale, v.currency);

        const res = await page.goto(url("/"), { waitUntil: "load" });
        assert.equal(res.status(), 200);
        const report = JSON.parse(res.headers()["x-borderless-context"]);
        assert.equal(report.context.country, v.country);
        assert.equal(report.decisions.locale, v.locale);
        assert.equal(report.decisions.currency, v.currency);
        assert.equal(res.headers()["cache-control"], "private, max-age=60");

        const home = await readPage(page);
        assert.equal(home.lang, v.locale);
        assert.equal(home.dir, v.dir || "");
        assert.equal(home.direction, v.dir || "ltr");
        assert.equal(home.basket, dict["nav.basket"]);
        assert.equal(home.greeting, dict["header.greeting"]);
        assert.ok(home.price.includes(symbol), `first card price ${JSON.stringify(home.price)} shows ${JSON.stringify(symbol)}`);
        assert.equal(home.price, priceFor(v, home.amount));
        assert.ok(await page.locator("nav.borderless-switcher").isVisible(), "switcher visible");
        const current = home.switcherLinks.filter((l) => l.current === "true").map((l) => l.text);
        assert.deepEqual(current, [CONFIG.localization.switcher.labels[v.locale], v.currency]);
        if (v.shot.page === "home") await screenshot(page, v.shot.file);

        assert.ok(home.firstProduct, "a product link");
        const pres = await page.goto(url(home.firstProduct), { waitUntil: "load" });
        assert.equal(pres.status(), 200);
        const product = await readPage(page);
        assert.equal(product.lang, v.locale);
        assert.equal(product.direction, v.dir || "ltr");
        assert.equal(product.basket, dict["nav.basket"]);
        assert.ok(product.productPrice.includes(symbol), product.productPrice);
        assert.equal(product.productPrice, priceFor(v, product.productAmount));
        assert.ok(await page.locator("nav.borderless-switcher").isVisible(), "switcher visible");
        if (v.shot.page === "product") await screenshot(page, v.shot.file);
      } finally {
        await context.close();
      }
    });
  }

  test("the switcher works: a click on English sets the cookie and comes back in English", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "de-DE", userAgent });
    try {
      await context.setExtraHTTPHeaders({ "x-borderless-country": "DE", "x-borderless-now": NOW });
      const page = await context.newPage();
      const first = await page.goto(url("/"), { waitUntil: "load" });
      assert.equal(first.status(), 200);
      assert.equal((await readPage(page)).lang, "de-DE");
      // The link goes to /__borderless/switch, which answers 303 back to this page.
      const [back] = await Promise.all([
        page.waitForResponse((r) => r.request().redirectedFrom()?.url().includes("/__borderless/switch?locale=en-GB")),
        page.click("nav.borderless-switcher a[hreflang='en-GB']"),
      ]);
      await page.waitForLoadState("load");
      assert.equal(back.url(), url("/"));
      assert.equal((await back.request().redirectedFrom().response()).status(), 303);
      const cookies = await context.cookies();
      assert.equal(cookies.find((c) => c.name === "borderless_locale")?.value, "en-GB", "the switch set its cookie");
      for (const when of ["after the switch", "after a reload"]) {
        if (when === "after a reload") await page.reload({ waitUntil: "load" });
        const shown = await readPage(page);
        assert.equal(shown.lang, "en-GB", `${when}: the page is English`);
        assert.equal(shown.basket, "Basket", when);
        assert.ok(shown.price.includes("€"), `${when}: the currency stays the visitor's`);
      }
    } finally {
      await context.close();
    }
  });
});
