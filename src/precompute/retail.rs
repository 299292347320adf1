//! Adapter for the UCI "Online Retail" log (`online_retail.csv.gz`): invoice
//! lines become purchases, `C` invoices cancellations, country names ISO
//! codes, and its product list the catalog (titled and categorised the way
//! the demo store does, with the demo store's URLs).

use super::catalog::{Catalog, Product};
use super::events::{next_record, Event, Kind, RowReport};
use super::input;
use crate::base::time::parse_rfc3339;
use crate::schema::Card;
use indicatif::ProgressBar;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

pub const COLUMNS: [&str; 8] = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
];

/// The log's country names → ISO 3166-1 alpha-2; `None` = not a country
/// (`Unspecified`, `European Community`). The Channel Islands are counted as
/// Jersey, the larger of the two.
pub const COUNTRIES: &[(&str, Option<&str>)] = &[
    ("Australia", Some("AU")),
    ("Austria", Some("AT")),
    ("Bahrain", Some("BH")),
    ("Belgium", Some("BE")),
    ("Brazil", Some("BR")),
    ("Canada", Some("CA")),
    ("Channel Islands", Some("JE")),
    ("Cyprus", Some("CY")),
    ("Czech Republic", Some("CZ")),
    ("Denmark", Some("DK")),
    ("EIRE", Some("IE")),
    ("European Community", None),
    ("Finland", Some("FI")),
    ("France", Some("FR")),
    ("Germany", Some("DE")),
    ("Greece", Some("GR")),
    ("Hong Kong", Some("HK")),
    ("Iceland", Some("IS")),
    ("Israel", Some("IL")),
    ("Italy", Some("IT")),
    ("Japan", Some("JP")),
    ("Lebanon", Some("LB")),
    ("Lithuania", Some("LT")),
    ("Malta", Some("MT")),
    ("Netherlands", Some("NL")),
    ("Norway", Some("NO")),
    ("Poland", Some("PL")),
    ("Portugal", Some("PT")),
    ("RSA", Some("ZA")),
    ("Saudi Arabia", Some("SA")),
    ("Singapore", Some("SG")),
    ("Spain", Some("ES")),
    ("Sweden", Some("SE")),
    ("Switzerland", Some("CH")),
    ("USA", Some("US")),
    ("United Arab Emirates", Some("AE")),
    ("United Kingdom", Some("GB")),
    ("Unspecified", None),
];

/// ISO code of a country name: `None` when the name is not in the table,
/// `Some(None)` for a name that is no country.
pub fn iso_country(name: &str) -> Option<Option<&'static str>> {
    COUNTRIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, c)| *c)
}

/// Real products have five digits, optionally followed by letters (`85123A`);
/// POST, D, M, DOT, BANK CHARGES, AMAZONFEE, C2, PADS, CRUK, gift_0001_20,
/// DCGS... are fees, discounts, samples and vouchers.
pub fn is_product_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 5
        && b[..5].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_alphabetic)
}

pub const SKIP_NON_PRODUCT: &str = "non-product stock code (postage, fees, discounts, samples)";
pub const SKIP_ADJUSTMENT: &str = "stock adjustment or free line (quantity or price <= 0)";
pub const SKIP_LATE: &str = "after the catalog cut-off (not in the training catalog)";

/// What one row (8 fields) is: an event, a row left out on purpose, or a
/// bad row and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Event,
    Skip(&'static str),
    Bad(String),
}

/// `str::trim`, without the scan when both ends are visible ASCII.
fn trim(s: &str) -> &str {
    let plain = |c: Option<&u8>| c.is_some_and(|c| *c > b' ' && c.is_ascii());
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// Turns rows into events, reusing one [`Event`]'s buffers.
#[derive(Default)]
pub struct RowParser {
    /// The last country name seen and its code.
    country: Option<(String, Option<Option<&'static str>>)>,
    /// The last InvoiceDate parsed (an invoice's lines share it).
    ts: Option<(String, i64)>,
}

impl RowParser {
    /// Parses `f` into `ev` (valid only when [`Row::Event`] is returned).
    pub fn parse(&mut self, f: &csv::StringRecord, ev: &mut Event) -> Row {
        if f.len() != 8 {
            return Row::Bad(format!("{} fields, expected 8", f.len()));
        }
        let (invoice, code) = (trim(&f[0]), trim(&f[1]));
        if invoice.is_empty() {
            return Row::Bad("empty InvoiceNo".into());
        }
        let Ok(qty) = trim(&f[3]).parse::<i64>() else {
            return Row::Bad(format!("Quantity {:?} is not an integer", &f[3]));
        };
        let ts_ms = match &mut self.ts {
            Some((text, ms)) if text == &f[4] => *ms,
            _ => {
                let Some(ms) = parse_rfc3339(trim(&f[4])) else {
                    return Row::Bad(format!("InvoiceDate {:?} is not RFC 3339", &f[4]));
                };
                self.ts = Some((f[4].to_string(), ms));
                ms
            }
        };
        let Ok(price) = trim(&f[5]).parse::<f64>() else {
            return Row::Bad(format!("UnitPrice {:?} is not a number", &f[5]));
        };
        let country = match &self.country {
            Some((name, iso)) if name == &f[7] => *iso,
            _ => {
                let iso = iso_country(&f[7]);
                self.country = Some((f[7].to_string(), iso));
                iso
            }
        };
        let Some(country) = country else {
            return Row::Bad(format!("Country {:?} is not in the country table", &f[7]));
        };
        if !is_product_code(code) {
            return Row::Skip(SKIP_NON_PRODUCT);
        }
        let kind = if invoice.starts_with('C') {
            if qty >= 0 {
                return Row::Bad(format!("cancellation with quantity {qty}"));
            }
            Kind::Cancel
        } else if qty > 0 && price > 0.0 {
            Kind::Purchase
        } else {
            return Row::Skip(SKIP_ADJUSTMENT);
        };
        let set = |s: &mut String, v: &str| {
            s.clear();
            s.push_str(v);
        };
        ev.ts_ms = ts_ms;
        set(&mut ev.visitor, trim(&f[6]));
        set(&mut ev.product, code);
        ev.product.make_ascii_uppercase();
        ev.kind = kind;
        ev.quantity = qty.unsigned_abs();
        match country {
            Some(c) => set(ev.country.get_or_insert_with(String::new), c),
            None => ev.country = None,
        }
        ev.device = None;
        set(ev.order.get_or_insert_with(String::new), invoice);
        ev.zone = None;
        Row::Event
    }
}

/// What the catalog needs to know about one product.
#[derive(Default)]
struct ProductStats {
    net: i64,
    descs: FxHashMap<String, u32>,
    prices: FxHashMap<String, u32>,
}

/// The catalog the log implies: every product sold at least once (net of
/// cancellations), titled by its most frequent description.
#[derive(Default)]
pub struct CatalogBuilder {
    /// `code␟description␟price` of purchase lines and `code␟␟` of
    /// cancellations → (lines, net quantity): one lookup per row.
    lines: FxHashMap<String, (u32, i64)>,
    key: String,
}

impl CatalogBuilder {
    pub fn add(&mut self, ev: &Event, f: &csv::StringRecord) {
        let k = &mut self.key;
        k.clear();
        k.push_str(&ev.product);
        k.push('\x1f');
        let qty = match ev.kind {
            Kind::Cancel => {
                k.push('\x1f');
                -(ev.quantity as i64)
            }
            _ => {
                k.push_str(trim(&f[2]));
                k.push('\x1f');
                k.push_str(trim(&f[5]));
                ev.quantity as i64
            }
        };
        match self.lines.get_mut(k.as_str()) {
            Some(v) => *v = (v.0 + 1, v.1 + qty),
            None => {
                self.lines.insert(k.clone(), (1, qty));
            }
        }
    }

    fn stats(self) -> FxHashMap<String, ProductStats> {
        let mut stats: FxHashMap<String, ProductStats> = FxHashMap::default();
        for (key, (lines, qty)) in self.lines {
            // Codes have no separator and prices parse as numbers, so the
            // first and the last separator are the ones added.
            let (code, rest) = key.split_once('\x1f').expect("a key");
            let (desc, price) = rest.rsplit_once('\x1f').expect("a key");
            let s = stats.entry(code.to_string()).or_default();
            s.net += qty;
            if price.is_empty() {
                continue; // a cancellation
            }
            *s.prices.entry(price.to_string()).or_default() += lines;
            if !desc.is_empty() {
                *s.descs.entry(desc.to_string()).or_default() += lines;
            }
        }
        stats
    }

    /// The catalog; with `active_top`, only that many best sellers (net
    /// quantity, ties by code — the demo store's own selection) are active.
    pub fn finish(self, locale: &str, active_top: Option<usize>) -> Catalog {
        let stats = self.stats();
        let mut ranked: Vec<(&String, i64)> = stats
            .iter()
            .filter(|(_, s)| !s.descs.is_empty() && s.net > 0)
            .map(|(id, s)| (id, s.net))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let top: std::collections::HashSet<String> = ranked
            .iter()
            .take(active_top.unwrap_or(usize::MAX))
            .map(|(id, _)| (*id).clone())
            .collect();
        let mut cat = Catalog::default();
        for (id, s) in stats {
            if s.descs.is_empty() || s.prices.is_empty() {
                continue;
            }
            let desc = most_common(&s.descs);
            let price: f64 = most_common(&s.prices).parse().unwrap_or(0.0);
            cat.insert(Product {
                active: s.net > 0 && top.contains(&id),
                card: Card {
                    title: BTreeMap::from([(locale.to_string(), title_case(&desc))]),
                    category: category(&desc).to_string(),
                    price: format!("{price:.2}"),
                    currency: "GBP".into(),
                    image: format!("/product-images/{id}.svg"),
                    url: format!("/p/{id}"),
                    id,
                },
            });
        }
        cat
    }
}

/// Most frequent key; ties go to the smallest key (deterministic).
fn most_common(m: &FxHashMap<String, u32>) -> String {
    m.iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| k.clone())
        .unwrap_or_default()
}

/// Options of the adapter.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Locale of the titles (the site's default locale).
    pub locale: String,
    /// Only rows up to this instant shape the catalog (the eval's train set).
    pub catalog_until_ms: Option<i64>,
    pub progress: bool,
    /// Only this many best sellers are active (a shop showing a subset).
    pub active_top: Option<usize>,
}

/// Opens the Online Retail log at `path` (`-`: stdin) as CSV records after
/// checking its header; `label` names the progress bar.
pub fn open_log(
    path: &Path,
    label: &str,
    progress: bool,
) -> Result<(csv::Reader<Box<dyn BufRead>>, ProgressBar), String> {
    let input = input::open(path, label, progress).map_err(|e| e.to_string())?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input.reader);
    let headers = rdr.headers().map_err(|e| e.to_string())?;
    if headers.iter().map(str::trim).ne(COLUMNS) {
        return Err(format!(
            "{}: header is not the Online Retail header {COLUMNS:?}",
            path.display()
        ));
    }
    Ok((rdr, input.progress))
}

/// Streams the log's events to `f` and returns the row report and catalog.
/// `path` `-` is standard input. The event passed to `f` is reused for the
/// next row: clone what must outlive the call.
pub fn read(
    path: &Path,
    opts: &Options,
    mut f: impl FnMut(&Event),
) -> Result<(RowReport, Catalog), String> {
    let (mut rdr, progress) = open_log(path, "events", opts.progress)?;
    let mut report = RowReport::default();
    let mut catalog = CatalogBuilder::default();
    let mut rec = csv::StringRecord::new();
    let mut parser = RowParser::default();
    let mut ev = Event::default();
    while let Some(line) = next_record(&mut rdr, &mut rec, &mut report, None)
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        match parser.parse(&rec, &mut ev) {
            Row::Event => {
                if opts.catalog_until_ms.is_none_or(|t| ev.ts_ms <= t) {
                    catalog.add(&ev, &rec);
                }
                report.used += 1;
                f(&ev);
            }
            Row::Skip(why) => report.skip(why),
            Row::Bad(why) => report.bad(line, why),
        }
    }
    progress.finish_and_clear();
    Ok((report, catalog.finish(&opts.locale, opts.active_top)))
}

const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to", "with",
];
const ACRONYMS: &[&str] = &["LED", "UK", "USA", "DIY", "PHOTO/CD"];

/// `PACK OF 72 RETROSPOT CAKE CASES` → `Pack of 72 Retrospot Cake Cases`
/// (the demo store's titles, so cards match its pages).
pub fn title_case(desc: &str) -> String {
    let mut clean = desc.split_whitespace().collect::<Vec<_>>().join(" ");
    clean = clean.replace(" ,", ",");
    let clean = clean.trim_end_matches(|c: char| c.is_whitespace() || c == '.' || c == ',');
    let words: Vec<String> = clean
        .split(' ')
        .enumerate()
        .map(|(i, w)| {
            if ACRONYMS.contains(&w) {
                return w.to_string();
            }
            let lower = w.to_lowercase();
            if i > 0 && SMALL_WORDS.contains(&lower.as_str()) {
                return lower;
            }
            let mut out = String::with_capacity(lower.len());
            let mut prev: Option<char> = None;
            for c in lower.chars() {
                let cap = c.is_ascii_lowercase() && prev.is_none_or(|p| "-/(".contains(p));
                out.push(if cap { c.to_ascii_uppercase() } else { c });
                prev = Some(c);
            }
            out
        })
        .collect();
    words.join(" ")
}

/// First matching rule wins, as in the demo store.
const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "Christmas",
        &[
            "CHRISTMAS",
            "XMAS",
            "ADVENT",
            "SANTA",
            "REINDEER",
            "SNOWFLAKE",
            "SNOWFLAKES",
        ],
    ),
    (
        "Candles & Lights",
        &[
            "T-LIGHT",
            "T-LIGHTS",
            "LANTERN",
            "LANTERNS",
            "CANDLE",
            "CANDLES",
            "LIGHT",
            "LIGHTS",
            "TEALIGHT",
            "TEALIGHTS",
        ],
    ),
    ("Bags", &["BAG", "BAGS", "SHOPPER", "PURSE", "WALLET"]),
    (
        "Kitchen",
        &[
            "CAKE",
            "CAKES",
            "CAKESTAND",
            "MUG",
            "MUGS",
            "TEA",
            "TEATIME",
            "LUNCH BOX",
            "JAR",
            "JARS",
            "JAM",
            "JELLY",
            "POPCORN",
            "BOWL",
            "BOWLS",
            "PLATE",
            "PLATES",
        ],
    ),
    (
        "Home Decor",
        &[
            "HEART", "HEARTS", "SIGN", "FRAME", "CLOCK", "WICKER", "ORNAMENT", "CUSHION",
            "DOORMAT", "HOOK", "HOOKS", "HANGER",
        ],
    ),
    (
        "Party",
        &[
            "PARTY", "BUNTING", "PAPER", "NAPKINS", "BIRTHDAY", "BALLOON", "BALLOONS",
        ],
    ),
];

pub fn category(desc: &str) -> &'static str {
    let up = desc.to_uppercase();
    CATEGORIES
        .iter()
        .find(|(_, words)| words.iter().any(|w| has_word(&up, w)))
        .map_or("Gifts", |(name, _)| name)
}

/// `word` occurs in `text` between regex-style word boundaries.
fn has_word(text: &str, word: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(word).any(|(i, _)| {
        !is_word(text[..i].chars().next_back()) && !is_word(text[i + word.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_titles_categories() {
        assert!(is_product_code("85123A") && is_product_code("22423") && is_product_code("85123a"));
        for c in [
            "POST",
            "D",
            "M",
            "DOT",
            "C2",
            "BANK CHARGES",
            "gift_0001_20",
            "DCGS0003",
            "1234",
        ] {
            assert!(!is_product_code(c), "{c}");
        }
        assert_eq!(
            title_case("PACK OF 72 RETROSPOT CAKE CASES"),
            "Pack of 72 Retrospot Cake Cases"
        );
        assert_eq!(
            title_case(" WHITE HANGING HEART T-LIGHT HOLDER."),
            "White Hanging Heart T-Light Holder"
        );
        assert_eq!(
            title_case("SET OF 3 LED LIGHTS (BOXED)"),
            "Set of 3 LED Lights (Boxed)"
        );
        assert_eq!(category("PAPER CHAIN KIT 50'S CHRISTMAS "), "Christmas");
        assert_eq!(
            category("WHITE HANGING HEART T-LIGHT HOLDER"),
            "Candles & Lights"
        );
        assert_eq!(category("LUNCH BOX I LOVE LONDON"), "Kitchen");
        assert_eq!(category("HEARTS WRAPPING TAPE"), "Home Decor");
        assert_eq!(category("SPACEBOY LUNCHBOX"), "Gifts");
        assert_eq!(iso_country("EIRE"), Some(Some("IE")));
        assert_eq!(iso_country("RSA"), Some(Some("ZA")));
        assert_eq!(iso_country("Unspecified"), Some(None));
        assert_eq!(iso_country("Atlantis"), None);
    }
}
