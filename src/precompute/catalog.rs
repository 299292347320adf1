//! The product catalog: what a recommendation may show, and its card.

use super::events::{column, for_each_json_line, next_record, RowReport};
use super::input::{self, Format};
use crate::schema::Card;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A catalog entry: the card the worker renders, and whether it may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub card: Card,
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub products: HashMap<String, Product>,
}

impl Catalog {
    /// Active products only: recommendations never show anything else.
    pub fn active(&self, id: &str) -> Option<&Product> {
        self.products.get(id).filter(|p| p.active)
    }

    pub fn insert(&mut self, p: Product) {
        self.products.insert(p.card.id.clone(), p);
    }

    /// Loads a catalog (CSV or JSON Lines). A title without a locale is in
    /// `default_locale`; CSV columns `title:<locale>` add translations.
    pub fn load(path: &Path, default_locale: &str) -> Result<(Catalog, RowReport), String> {
        let input = input::open(path, "catalog", false).map_err(|e| e.to_string())?;
        let mut cat = Catalog::default();
        let mut report = RowReport::default();
        match Format::of(path) {
            Format::JsonLines => {
                for_each_json_line::<RawProduct>(input.reader, &mut report, |line, raw, rep| {
                    match raw.validate(default_locale) {
                        Ok(p) => {
                            rep.used += 1;
                            cat.insert(p)
                        }
                        Err(e) => rep.bad(line, e),
                    }
                })?;
            }
            Format::Csv => load_csv(input.reader, default_locale, &mut cat, &mut report)?,
        }
        Ok((cat, report))
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Titles {
    One(String),
    PerLocale(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Price {
    Number(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
struct RawProduct {
    #[serde(alias = "product_id")]
    id: String,
    title: Titles,
    #[serde(default)]
    category: String,
    price: Price,
    currency: String,
    #[serde(default)]
    image: String,
    #[serde(default)]
    url: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

impl RawProduct {
    fn validate(self, default_locale: &str) -> Result<Product, String> {
        let id = self.id.trim().to_string();
        if id.is_empty() || id.len() > 128 {
            return Err("id is empty or over 128 bytes".into());
        }
        let title = match self.title {
            Titles::One(t) => BTreeMap::from([(default_locale.to_string(), t)]),
            Titles::PerLocale(m) => m,
        };
        if !title.contains_key(default_locale) {
            return Err(format!("no title in the default locale {default_locale}"));
        }
        let price = match self.price {
            Price::Number(n) => n,
            Price::Text(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("price {s:?} is not a number"))?,
        };
        if !(price.is_finite() && price >= 0.0) {
            return Err(format!("price {price} is not a non-negative number"));
        }
        let currency = self.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("currency {currency:?} is not ISO 4217"));
        }
        Ok(Product {
            card: Card {
                id,
                title,
                category: self.category,
                price: format!("{price:.2}"),
                currency,
                image: self.image,
                url: self.url,
            },
            active: self.active,
        })
    }
}

fn load_csv(
    reader: Box<dyn std::io::BufRead>,
    default_locale: &str,
    cat: &mut Catalog,
    report: &mut RowReport,
) -> Result<(), String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let c_id = column(&headers, &["id", "product_id"]).ok_or("catalog CSV has no id column")?;
    let c_title = column(&headers, &["title"]).ok_or("catalog CSV has no title column")?;
    let c_price = column(&headers, &["price"]).ok_or("catalog CSV has no price column")?;
    let c_cur = column(&headers, &["currency"]).ok_or("catalog CSV has no currency column")?;
    let c_cat = column(&headers, &["category"]);
    let c_img = column(&headers, &["image"]);
    let c_url = column(&headers, &["url"]);
    let c_active = column(&headers, &["active"]);
    let locales: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, h.trim().strip_prefix("title:")?.to_string())))
        .collect();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = next_record(&mut rdr, &mut rec, report, Some(headers.len()))? {
        let get = |c: Option<usize>| c.map(|i| rec[i].to_string()).unwrap_or_default();
        let mut title = BTreeMap::from([(default_locale.to_string(), rec[c_title].to_string())]);
        for (i, loc) in &locales {
            if !rec[*i].is_empty() {
                title.insert(loc.clone(), rec[*i].to_string());
            }
        }
        let active = match get(c_active).trim().to_ascii_lowercase().as_str() {
            "" | "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            other => {
                report.bad(line, format!("active {other:?} is not a boolean"));
                continue;
            }
        };
        let raw = RawProduct {
            id: rec[c_id].to_string(),
            title: Titles::PerLocale(title),
            category: get(c_cat),
            price: Price::Text(rec[c_price].to_string()),
            currency: rec[c_cur].to_string(),
            image: get(c_img),
            url: get(c_url),
            active,
        };
        match raw.validate(default_locale) {
            Ok(p) => {
                report.used += 1;
                cat.insert(p)
            }
            Err(e) => report.bad(line, e),
        }
    }
    Ok(())
}
