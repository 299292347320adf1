// The entry's hand-built `JSON.stringify(cf, keys)` (worker/entry.mjs,
// `picked`) gives the runtime's text for the shapes `request.cf` has, and
// for odd ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./harness.mjs";

const src = fs.readFileSync(path.join(ROOT, "worker", "entry.mjs"), "utf8");
const body = /\nfunction picked\(v, keys\) \{[^]*?\n\}\n/.exec(src)?.[0];
const picked = new Function(`${body}; return picked;`)();
const KEYS = ["country", "region", "regionCode", "timezone", "latitude", "longitude", "continent", "isEUCountry", "botManagement", "verifiedBot"];

test("picked(cf, keys) is JSON.stringify(cf, keys)", () => {
  assert.ok(body, "picked() is in worker/entry.mjs");
  const cases = [
    { country: "DE", region: "Berlin", regionCode: "BE", city: "Berlin", timezone: "Europe/Berlin", latitude: "52.52000", longitude: "13.40500", continent: "EU", isEUCountry: "1", colo: "FRA", asn: 3320 },
    { country: "US", botManagement: { score: 1, verifiedBot: true, staticResource: false, ja3Hash: "x", detectionIds: [1, 2] }, isEUCountry: false, latitude: 40.7 },
    { country: 'X"\\\u2028\u00e9\u{1F600}', region: "Île-de-France", timezone: null, latitude: NaN, longitude: Infinity, continent: undefined, f() {} },
    { botManagement: { verifiedBot: { country: "nested", other: 1 } }, region: ["a", { country: "b", x: 1 }, undefined] },
    { botManagement: null, verifiedBot: 0, regionCode: "" },
    {},
  ];
  for (const cf of cases) assert.equal(picked(cf, KEYS), JSON.stringify(cf, KEYS), JSON.stringify(cf));
});
