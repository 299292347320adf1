// `make bench-profiles`: release-profile experiments for the Wasm bundle.
// Builds the worker once per variant (opt-level, LTO, codegen units, SIMD,
// wasm-opt flags), measures size and, in one interleaved CPU run per
// variant against the passthrough and reference workers, CPU per request.
// Writes bench/profiles.json, which `make bench` puts into BENCHMARKS.md.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WORK = path.join(ROOT, "target", "profiles");
const SIMD = ["-C", "target-feature=+simd128"];
const VARIANTS = [
  { name: "o3-fat-lto-cgu1 (kept)", cargo: { "opt-level": 3, lto: '"fat"', "codegen-units": 1 }, wasmOpt: ["-O3"] },
  { name: "os-fat-lto-cgu1", cargo: { "opt-level": '"s"', lto: '"fat"', "codegen-units": 1 }, wasmOpt: ["-Os"] },
  { name: "oz-fat-lto-cgu1", cargo: { "opt-level": '"z"', lto: '"fat"', "codegen-units": 1 }, wasmOpt: ["-Oz"] },
];

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`);
}

const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
const results = [];
const only = process.argv[2];
for (const v of VARIANTS) {
  if (only && !v.name.includes(only)) continue;
  const slug = v.name.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "");
  const dir = path.join(WORK, slug);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const config = Object.entries(v.cargo).flatMap(([k, x]) => ["--config", `profile.release.${k}=${x}`]);
  for (const [p, lvl] of Object.entries(v.pkg ?? {})) config.push("--config", `profile.release.package."${p}".opt-level=${lvl}`);
  const t0 = Date.now();
  // Its own target dir, so the main build stays warm; --no-opt: wasm-opt runs below with the variant's flags.
  run("worker-build", ["--release", "--no-opt", "-d", path.relative(ROOT, path.join(dir, "build")), ...config], {
    CARGO_TARGET_DIR: path.join(WORK, "target"),
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS: (v.rustflags ?? SIMD).join(" "),
  });
  const wasm = path.join(dir, "build", "index_bg.wasm");
  run("wasm-opt", [...v.wasmOpt, "--enable-exception-handling", "--strip-debug", "--strip-producers", wasm, "-o", wasm]);
  const buildSeconds = (Date.now() - t0) / 1000;
  // The entry module beside this variant's own build/ (its wasm-bindgen glue matches its Wasm).
  const dist = dir;
  fs.mkdirSync(path.join(dist, "worker"));
  fs.copyFileSync(path.join(ROOT, "worker", "entry.mjs"), path.join(dist, "worker", "entry.mjs"));
  fs.rmSync(path.join(dist, "build", ".tmp"), { recursive: true, force: true });
  const out = path.join(dir, "cpu.json");
  run(process.execPath, [path.join(ROOT, "bench", "run.mjs"), "--variant", dist, "--only", "cpu", "--rounds", "2", "--out", out]);
  const r = JSON.parse(fs.readFileSync(out, "utf8"));
  const bytes = fs.readFileSync(wasm);
  results.push({
    name: v.name,
    cargo: v.cargo,
    packages: v.pkg ?? null,
    simd: !v.rustflags,
    wasm_opt: v.wasmOpt,
    wasm_raw: bytes.length,
    wasm_gzip: gz(bytes),
    build_seconds: buildSeconds,
    ratio_vs_js: r.cpu.ratio_vs_js,
    mean_borderless_net_us: r.cpu.mean_borderless_net_us,
    mean_reference_net_us: r.cpu.mean_reference_net_us,
    demo_net_us: r.cpu.by_kind.demo.borderless_net_us,
    storefront_net_us: r.cpu.by_kind.storefront.borderless_net_us,
  });
  console.error(JSON.stringify(results.at(-1)));
}
const file = path.join(ROOT, "bench", "profiles.json");
const prev = fs.existsSync(file) && only ? JSON.parse(fs.readFileSync(file, "utf8")).variants : [];
const merged = [...prev.filter((p) => !results.some((r) => r.name === p.name)), ...results];
fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), note: "each variant: its own build, wasm-opt with its flags (names stripped), 2 interleaved CPU rounds against the passthrough and reference workers in one workerd run", variants: merged }, null, 2) + "\n");
console.error(`wrote ${path.relative(ROOT, file)}`);
