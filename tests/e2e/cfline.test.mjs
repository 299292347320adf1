// The entry's `request.cf` line (worker/entry.mjs, `cfLine`): the fields
// the Rust side reads, as `Geo::cf_line` makes them for the same objects
// (src/request/context.rs tests the DE and bot lines below), for the shapes
// `request.cf` has and for odd ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./harness.mjs";

const src = fs.readFileSync(path.join(ROOT, "worker", "entry.mjs"), "utf8");
const body = /\nfunction cfLine\(request\) \{[^]*?\n\}\nconst CONTROL = .*\n/.exec(src)?.[0];
const KEYS = ["country", "region", "regionCode", "timezone", "latitude", "longitude", "continent", "isEUCountry", "botManagement.verifiedBot"];
const reads = () => ({ cf: KEYS.map((k) => [k, k.split(".")]) });
const cfLine = new Function("reads", `${body}; return cfLine;`)(reads);

test("cfLine sends the fields Geo reads, as Geo::cf_line does", () => {
  assert.ok(body, "cfLine() is in worker/entry.mjs");
  const cases = [
    [
      { country: "DE", region: "Berlin", regionCode: "BE", city: "Berlin", timezone: "Europe/Berlin", latitude: "52.52000", longitude: "13.40500", continent: "EU", isEUCountry: "1", colo: "FRA", asn: 3320, botManagement: { verifiedBot: false, score: 99 } },
      "country:DE\tregion:Berlin\tregionCode:BE\ttimezone:Europe/Berlin\tlatitude:52.52000\tlongitude:13.40500\tcontinent:EU\tisEUCountry:1\tbotManagement.verifiedBot:false",
    ],
    [
      { country: "US", colo: "SJC", asn: 15169, tlsVersion: "TLSv1.3", botManagement: { verifiedBot: true, score: 1, ja3Hash: "x" }, isEUCountry: false },
      "country:US\tisEUCountry:false\tbotManagement.verifiedBot:true",
    ],
    // Numbers as JS prints them; objects, nulls, functions and control characters left out.
    [{ latitude: -33.9, region: "a\nb", city: "x", timezone: null, country: { a: 1 }, f() {} }, "latitude:-33.9"],
    [{ country: "Île\u2028é😀", latitude: NaN, longitude: Infinity, continent: undefined }, "country:Île\u2028é😀\tlatitude:NaN\tlongitude:Infinity"],
    [{ botManagement: { verifiedBot: { nested: true } }, region: ["a"], verifiedBot: true }, ""],
    [{ botManagement: null, regionCode: "" }, "regionCode:"],
    [{}, ""],
  ];
  for (const [cf, line] of cases) assert.equal(cfLine({ cf }), line, JSON.stringify(cf));
  assert.equal(cfLine({ cf: undefined }), undefined);
  assert.equal(cfLine({ cf: "DE" }), undefined);
});
