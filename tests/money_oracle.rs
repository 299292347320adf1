//! The CLDR oracle: every price string the worker can print equals what
//! Node's `Intl.NumberFormat(locale, {style: "currency", currency})` prints.
//! Node generates the formats (as `borderless build` does) and the expected
//! strings; the Rust formatter must reproduce each one.

use borderless::plan::format::format;
use borderless::schema::MoneyFormats;
use std::collections::BTreeMap;
use std::process::Command;

const LOCALES: &str = "en-US,en-GB,en-IN,en-IE,en-AU,en-CA,en-NZ,en-SG,fr-CA,de-DE,de-AT,de-CH,fr-FR,fr-CH,fr-BE,\
it-IT,it-CH,es-ES,es-MX,pt-PT,pt-BR,nl-NL,nl-BE,sv-SE,da-DK,nb-NO,fi-FI,pl-PL,cs-CZ,hu-HU,ro-RO,el-GR,tr-TR,\
ru-RU,uk-UA,ja-JP,ko-KR,zh-CN,zh-TW,zh-HK,ar-EG,ar-SA,ar-AE,he-IL,fa-IR,hi-IN,th-TH,id-ID,lt-LT,lv-LV,is-IS,mt-MT";
const CURRENCIES: &str =
    "GBP,EUR,USD,JPY,CHF,SEK,NOK,DKK,PLN,CZK,HUF,RON,BGN,ISK,TRY,ILS,AED,SAR,BHD,KWD,INR,\
CNY,HKD,TWD,KRW,AUD,NZD,CAD,BRL,MXN,ZAR,SGD,THB";
const AMOUNTS: &str = "[0, 0.5, 0.995, 999.995, 1234.5, 1e7, 12.99, 1234567.891, -1234.5, 0.125, 2.675, 1.005, 99999.5]";

#[test]
fn every_vector_matches_node_intl() {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!(
        r#"import {{ moneyFormats, generator }} from "{root}/scripts/money-formats.mjs";
        const locales = "{LOCALES}".split(","), currencies = "{CURRENCIES}".split(","), amounts = {AMOUNTS};
        const out = {{ generator, locales: {{}}, vectors: [] }};
        for (const l of locales) {{
          out.locales[l] = moneyFormats(l, currencies);
          for (const c of currencies) {{
            const nf = new Intl.NumberFormat(l, {{ style: "currency", currency: c }});
            for (const a of amounts) out.vectors.push([l, c, a, nf.format(a)]);
          }}
        }}
        process.stdout.write(JSON.stringify(out));"#
    );
    let node = std::env::var("ORACLE_NODE").unwrap_or_else(|_| "node".into());
    let out = Command::new(&node)
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("node is required for the Intl oracle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let formats: BTreeMap<String, MoneyFormats> =
        serde_json::from_value(v["locales"].clone()).unwrap();
    let vectors = v["vectors"].as_array().unwrap();
    let mut failures = Vec::new();
    for row in vectors {
        let (l, c, a, want) = (
            row[0].as_str().unwrap(),
            row[1].as_str().unwrap(),
            row[2].as_f64().unwrap(),
            row[3].as_str().unwrap(),
        );
        let m = &formats[l];
        let r = &m.currencies[c];
        let got = format(&m.formats[r.format], &r.symbol, a);
        if got.as_deref() != Some(want) {
            failures.push(format!("{l} {c} {a}: want {want:?} got {got:?}"));
        }
    }
    eprintln!(
        "Intl oracle ({}): {} vectors compared, {} locales x {} currencies",
        v["generator"],
        vectors.len(),
        formats.len(),
        CURRENCIES.split(',').count()
    );
    assert!(vectors.len() >= 40 * 30 * 6);
    assert!(
        failures.is_empty(),
        "{} of {} differ, e.g.\n{}",
        failures.len(),
        vectors.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
