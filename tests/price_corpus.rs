//! The price recognizer on hand-written snippets: prices in many locales and
//! positions (converted) and look-alikes that must stay as they are. Every
//! snippet runs through the whole price stage (lol_html, carry-over, split
//! runs) at several chunk sizes. Rates: every shop currency is worth 1 and
//! the visitor's SEK 2, so a converted price shows as «2 × amount».

use borderless::base::time::parse_rfc3339;
use borderless::rewrite::prices::{rewrite_page, Counts, Options, Setup};
use borderless::schema::{FxRates, Localization, PriceDetection};

/// `=` means the snippet must come out unchanged.
type Case = (&'static str, &'static str);

const GBP_SITE: &[Case] = &[
    // Symbol before, no space / spaces of every kind.
    ("£72.99", "«145.98»"),
    ("£ 72.99", "«145.98»"),
    ("£\u{a0}72.99", "«145.98»"),
    ("£&nbsp;72.99", "«145.98»"),
    ("&pound;72.99", "«145.98»"),
    ("&#163;72.99", "«145.98»"),
    ("£\u{202f}72.99", "«145.98»"),
    ("£1,299.00", "«2598.00»"),
    ("£1,299", "«2598.00»"),
    ("£12,345,678.90", "«24691357.80»"),
    ("£0.99", "«1.98»"),
    ("£5", "«10.00»"),
    ("£50", "«100.00»"),
    ("£5,100.00", "«10200.00»"),
    // Code before or after.
    ("GBP 11.19", "«22.38»"),
    ("GBP\u{a0}12.99", "«25.98»"),
    ("GBP12.99", "«25.98»"),
    ("12.99 GBP", "«25.98»"),
    ("12.99GBP", "«25.98»"),
    // In sentences.
    ("Now £72.99!", "Now «145.98»!"),
    ("Was £80, now £72.99.", "Was «160.00», now «145.98»."),
    ("from £10", "from «20.00»"),
    ("From £70.50", "From «141.00»"),
    ("Free delivery over £50", "Free delivery over «100.00»"),
    ("Save £25 (price includes saving)", "Save «50.00» (price includes saving)"),
    ("+ £9.99 delivery", "+ «19.98» delivery"),
    ("-£5.00 off", "-«10.00» off"),
    ("(£3.50)", "(«7.00»)"),
    ("Only £3.50/month", "Only «7.00»/month"),
    ("£72.99 each", "«145.98» each"),
    ("Total: £1,234.56 incl. VAT", "Total: «2469.12» incl. VAT"),
    // Ranges.
    ("£10 – £20", "«20.00» – «40.00»"),
    ("£10-£20", "«20.00»-«40.00»"),
    ("£10–20", "«20.00»–«40.00»"),
    ("£10 - 20", "«20.00» - «40.00»"),
    ("£10 to £20", "«20.00» to «40.00»"),
    // Markup around and inside.
    ("<b>£72.99</b>", "<b>«145.98»</b>"),
    ("<s>£80.00</s> <b>£72.99</b>", "<s>«160.00»</s> <b>«145.98»</b>"),
    ("<del>£80</del><ins>£72</ins>", "<del>«160.00»</del><ins>«144.00»</ins>"),
    ("<span class=price>£72.99</span>", "<span class=price>«145.98»</span>"),
    ("<a href=/p>£72.99</a>", "<a href=/p>«145.98»</a>"),
    ("<div data-price=7299>£72.99</div>", "<div data-price=7299>«145.98»</div>"),
    ("<span itemprop=price content=72.99>£72.99</span>", "<span itemprop=price content=72.99>«145.98»</span>"),
    // Split over inline elements (real shops: IKEA, Amazon, Boscov's).
    ("<span>£</span><span>279</span>", "<span></span><span>«558.00»</span>"),
    (
        "<span class=a-price-symbol>£</span><span class=a-price-whole>72<span class=a-price-decimal>.</span></span><span class=a-price-fraction>99</span>",
        "<span class=a-price-symbol></span><span class=a-price-whole>«145.98»<span class=a-price-decimal></span></span><span class=a-price-fraction></span>",
    ),
    ("<span class=price>£<span itemprop=price>169.99</span></span>", "<span class=price><span itemprop=price>«339.98»</span></span>"),
    ("<strong>£&nbsp;<span>206</span></strong>", "<strong>&nbsp;<span>«412.00»</span></strong>"),
    // A longer node ending with the sign and a character reference.
    ("<p>Our lowest price this winter: £&nbsp;<span>206</span></p>", "<p>Our lowest price this winter: &nbsp;<span>«412.00»</span></p>"),
    ("<span class=price>72.99</span><span>£</span>", "<span class=price>«145.98»</span><span></span>"),
    ("<span>£</span> <span>279</span>", "<span></span> <span>«558.00»</span>"),
    ("Price: £<b>72.99</b>", "Price: <b>«145.98»</b>"),
    ("<span class=cur>GBP</span><span>12.99</span>", "<span class=cur></span><span>«25.98»</span>"),
    // Bare amounts where the markup says price.
    ("<span itemprop=price>72.99</span>", "<span itemprop=price>«145.98»</span>"),
    ("<span data-price=x>1,299</span>", "<span data-price=x>«2598.00»</span>"),
    ("<div class=product-price>72.99</div>", "<div class=product-price>«145.98»</div>"),
    ("<div class=price> 72.99 </div>", "<div class=price> «145.98» </div>"),
    // Prices inside buttons only when the button is just the price.
    ("<button>£72.99</button>", "<button>«145.98»</button>"),
    ("<button>Add for £72.99</button>", "="),
    // Look-alikes that are not prices.
    ("72.99", "="),
    ("<span>72.99</span>", "="),
    ("<div class=price>3</div>", "="),
    ("<span class=price-count>35,374 sold</span>", "="),
    ("35,374 sold", "="),
    ("4.5 out of 5 stars", "="),
    ("1,234 reviews", "="),
    ("Call 0800 123 4567", "="),
    ("+44 20 7946 0958", "="),
    ("Size 10", "="),
    ("EU 42", "="),
    ("UK 8", "="),
    ("60 x 30 cm", "="),
    ("60x30", "="),
    ("2.5 kg", "="),
    ("500ml", "="),
    ("50% off", "="),
    ("50 % off", "="),
    ("SKU B07FW264WL", "="),
    ("Model ECC60912110", "="),
    ("Item 123808916008", "="),
    ("© 2020", "="),
    ("Since 1864", "="),
    ("Version 2.3.3", "="),
    ("v1.2", "="),
    ("#12", "="),
    ("1/2", "="),
    ("3 pack", "="),
    ("Qty: 1", "="),
    ("Delivery in 7-10 days", "="),
    ("7.30am - 6pm", "="),
    ("10:30", "="),
    ("02.12.2020", "="),
    ("2020-12-02", "="),
    ("ISBN 978-88-04-71234-5", "="),
    ("Ref. 4,5", "="),
    ("<span>4,5</span><span>(452)</span>", "="),
    ("£", "="),
    ("<span>£</span>", "="),
    ("<span>£</span><div>279</div>", "="),
    ("<span>£</span><p>279</p>", "="),
    ("Prices in £ sterling", "="),
    ("£39,…", "="),
    ("from £39…", "="),
    ("£1.2345", "="),
    ("£72.9", "="),
    ("EUROPE 5", "="),
    ("<span class=price>10.00</span><span class=price>12.00</span>", "="),
    // A price in another currency split over spans, under a data-price.
    (
        "<span data-price=25.99><span class=integer>25</span><span class=fractional>,99</span><span class=postfix>zł</span></span>",
        "=",
    ),
    // A bare amount that disagrees with its element's data-price / content.
    ("<span data-price=25.99><span>25</span></span>", "="),
    ("<span itemprop=price content=7.99>8.99</span>", "="),
    ("<span data-price=695>6.95</span>", "="),
    // Other currencies than the shop's are left alone.
    ("€72.99", "="),
    ("72,99 €", "="),
    ("USD 12.99", "="),
    ("EUR 25.00", "="),
    ("CHF 12.50", "="),
    ("$12.99", "="),
    ("¥1,000", "="),
    ("1 299,00 zł", "="),
    // Excluded places.
    ("<script>var p='£72.99'</script>", "="),
    ("<style>.a:after{content:'£5'}</style>", "="),
    ("<textarea>£72.99</textarea>", "="),
    ("<select><option>£72.99</option></select>", "="),
    ("<template><b>£72.99</b></template>", "="),
    ("<span translate=no>£72.99</span>", "="),
    ("<span class=notranslate>£72.99</span>", "="),
    ("<span class=\"a notranslate b\">£72.99</span>", "="),
    ("<div data-borderless-ignore><p>£72.99</p></div>", "="),
    ("<title>£72.99</title>", "<title>«145.98»</title>"),
    ("<input value=\"£72.99\">", "="),
    ("<img alt=\"£72.99\">", "="),
    ("<!-- £72.99 -->", "="),
    ("<span title=\"£72.99\">x</span>", "="),
];

const EUR_SITE: &[Case] = &[
    ("72,99 €", "«145.98»"),
    ("72,99\u{a0}€", "«145.98»"),
    ("72,99&nbsp;&euro;", "«145.98»"),
    ("72,99€", "«145.98»"),
    ("€72,99", "«145.98»"),
    ("€ 72,99", "«145.98»"),
    ("€72.99", "«145.98»"),
    ("€39.30", "«78.60»"),
    ("1.299,00 €", "«2598.00»"),
    ("1 299,00 €", "«2598.00»"),
    ("1\u{a0}299,00 €", "«2598.00»"),
    ("1\u{202f}299,00 €", "«2598.00»"),
    ("€ 1.599,00", "«3198.00»"),
    ("1.299 €", "«2598.00»"),
    ("€1149.00", "«2298.00»"),
    ("206,- €", "«412.00»"),
    ("€ 206,-", "«412.00»"),
    ("€\u{a0}<span>206,-</span>", "\u{a0}<span>«412.00»</span>"),
    ("EUR 25.00", "«50.00»"),
    ("EUR15.99", "«31.98»"),
    ("5,95 EUR", "«11.90»"),
    ("7,95 EUR", "«15.90»"),
    ("12.95 EUR", "«25.90»"),
    ("ab 20 €", "ab «40.00»"),
    ("Ab einem Bestellwert von 20 € versandkostenfrei", "Ab einem Bestellwert von «40.00» versandkostenfrei"),
    ("statt 80,00 € nur 72,99 €", "statt «160.00» nur «145.98»"),
    ("10 € 20 €", "«20.00» «40.00»"),
    ("€ 49,99 € 59,99", "«99.98» «119.98»"),
    ("10–20 €", "«20.00»–«40.00»"),
    ("10 - 20 €", "«20.00» - «40.00»"),
    ("dès 59€ d'achat", "dès «118.00» d'achat"),
    ("0,45€/min", "«0.90»/min"),
    ("3,95€ - Gratuit dès 50,00€*", "«7.90» - Gratuit dès «100.00»*"),
    ("99,95<span class=c-tp-price-currency>€</span>", "«199.90»<span class=c-tp-price-currency></span>"),
    ("<span class=ent>28</span><span class=comma>,</span><span class=dec>00</span><span class=currency>€</span>", "<span class=ent>«56.00»</span><span class=comma></span><span class=dec></span><span class=currency></span>"),
    ("<span class=dyn_prod_price>36,99</span>", "<span class=dyn_prod_price>«73.98»</span>"),
    ("<span class=gtmActualPrice>20,90</span>", "<span class=gtmActualPrice>«41.80»</span>"),
    ("\n      €\n    <span class=gtmActualPrice>20,90</span>", "\n      \n    <span class=gtmActualPrice>«41.80»</span>"),
    ("<div class=price>206,-</div>", "<div class=price>«412.00»</div>"),
    ("<div class=price>20</div>", "="),
    (
        "<span class=integer>25</span><span class=fractional>,99</span><span class=postfix>€</span>",
        "<span class=integer>«51.98»</span><span class=fractional></span><span class=postfix></span>",
    ),
    // Not prices, or not readable for sure.
    ("1,299 €", "="),
    ("72,9 €", "="),
    ("4,5", "="),
    ("<span>4,5</span>", "="),
    ("Größe 42", "="),
    ("3000,00 euro", "="),
    ("£72.99", "="),
    ("72,99 zł", "="),
    ("72,99 Kč", "="),
    ("In 2 Tagen", "="),
    ("Art.-Nr. 343026", "="),
    ("Tel. 0800 123 45 67", "="),
    ("PLZ 80331", "="),
    ("100 % Baumwolle", "="),
    ("EUR", "="),
    ("€", "="),
];

const USD_SITE: &[Case] = &[
    ("$87.11", "«174.22»"),
    ("$ 87.11", "«174.22»"),
    ("US$11.99", "«23.98»"),
    ("US $50 off", "«100.00» off"),
    ("USD 12.99", "«25.98»"),
    ("$1,299.00", "«2598.00»"),
    ("$5 USD", "«10.00»"),
    ("+ $99.23 Shipping &amp; Import Fees", "+ «198.46» Shipping &amp; Import Fees"),
    ("$9.49 – $12.49", "«18.98» – «24.98»"),
    ("MSRP $25.", "MSRP «50.00»."),
    ("<span class=a-offscreen>$87.11</span><span aria-hidden=true><span class=a-price-symbol>$</span><span class=a-price-whole>87<span class=a-price-decimal>.</span></span><span class=a-price-fraction>11</span></span>",
     "<span class=a-offscreen>«174.22»</span><span aria-hidden=true><span class=a-price-symbol></span><span class=a-price-whole>«174.22»<span class=a-price-decimal></span></span><span class=a-price-fraction></span></span>"),
    ("<span class=price>$<span itemprop=price>169.99</span></span>", "<span class=price><span itemprop=price>«339.98»</span></span>"),
    ("$15\u{a0}·\u{a0}Casio FX-991ES", "«30.00»\u{a0}·\u{a0}Casio FX-991ES"),
    // Dollars of other countries are not the shop's.
    ("C$12.99", "="),
    ("CA$12.99", "="),
    ("A$12.99", "="),
    ("NZ$12.99", "="),
    ("HK$12.99", "="),
    ("R$600", "="),
    ("CAD 12.99", "="),
    ("12.99 AUD", "="),
    // Look-alikes.
    ("$1.299", "="),
    ("$12.5", "="),
    ("4.6 out of 5", "="),
    ("Ships in 2-3 days", "="),
    ("Apple iPhone 12 Pro 128GB", "="),
    ("Intel Core i7-10750H", "="),
    ("1080p", "="),
    ("24/7", "="),
    ("#1 Best Seller", "="),
    ("in Electronics (100)", "="),
    ("Zip 10001", "="),
    ("($)", "="),
    ("$", "="),
    ("$$$", "="),
];

const JPY_SITE: &[Case] = &[
    ("¥1,000", "«2000.00»"),
    ("￥1,000", "«2000.00»"),
    ("1,000円", "«2000.00»"),
    ("1,000 円", "«2000.00»"),
    ("JPY 1,000", "«2000.00»"),
    ("¥980", "«1960.00»"),
    ("¥1.000", "«2000.00»"),
    ("¥12.50", "="),
    ("1,000元", "="),
    ("3点", "="),
    ("1,000", "="),
];

const KWD_SITE: &[Case] = &[
    ("KWD 1.250", "«2.50»"),
    ("1.250 KWD", "«2.50»"),
    ("KWD 12.500", "«25.00»"),
    ("KWD 1,250.500", "«2501.00»"),
    ("KWD 1.25", "="),
    ("KWD 1,250", "="),
];

const INR_SITE: &[Case] = &[
    ("₹1,23,456", "«246912.00»"),
    ("₹949", "«1898.00»"),
    ("₹2,433", "«4866.00»"),
    ("Rs. 1500", "«3000.00»"),
    ("Rs 9,999", "«19998.00»"),
    ("Rs.50", "«100.00»"),
    ("₹1,00,000.!", "«200000.00».!"),
    ("INR 1,23,456.50", "«246913.00»"),
    ("from ₹39,…", "from ₹39,…"),
    ("₹12,34,5", "="),
    ("5% cashback", "="),
];

const CHF_SITE: &[Case] = &[
    ("CHF 1'299.00", "«2598.00»"),
    ("CHF 1’299.00", "«2598.00»"),
    ("1'299.00 CHF", "«2598.00»"),
    ("Fr. 12.50", "«25.00»"),
    ("CHF 12.–", "«24.00»"),
    ("CHF 2.25", "«4.50»"),
    ("1'299", "="),
];

const PLN_SITE: &[Case] = &[
    ("1 299,00 zł", "«2598.00»"),
    ("32 zł", "«64.00»"),
    ("<span class=integer>32</span><span class=fractional></span><span class=postfix>zł<span class=unit> /szt.</span></span>",
     "<span class=integer>«64.00»</span><span class=fractional></span><span class=postfix><span class=unit> /szt.</span></span>"),
    ("1 299 zł", "«2598.00»"),
    ("zł", "="),
    ("12 szt.", "="),
];

const RON_SITE: &[Case] = &[
    (
        "<p class=product-new-price>173<sup>34</sup> <span>Lei</span></p>",
        "<p class=product-new-price>«346.68»<sup></sup> <span></span></p>",
    ),
    (
        "<s>83<sup>30</sup> <span>Lei</span></s>",
        "<s>«166.60»<sup></sup> <span></span></s>",
    ),
    ("63,07 lei", "«126.14»"),
    ("costul de 0 lei", "costul de «0.00»"),
    ("<span>83</span><span>30</span> Lei", "="),
];

/// Two shop currencies: GBP (the site's) and EUR (declared besides).
const GBP_EUR_SITE: &[Case] = &[
    ("£72.99", "«145.98»"),
    ("€72.99", "«145.98»"),
    ("EUR 25.00", "«50.00»"),
    ("$72.99", "="),
];

/// A page that states its currency (JSON-LD) resolves `$` and bare amounts.
const SIGNALS: &[(&str, &str, &str)] = &[
    (
        r#"<script type="application/ld+json">{"offers":{"priceCurrency":"CAD","price":"12.99"}}</script><p>$12.99</p>"#,
        "CAD,USD",
        "«25.98»",
    ),
    (
        r#"<meta property="og:price:currency" content="CAD"><p>$12.99</p>"#,
        "EUR,CAD,USD",
        "«25.98»",
    ),
    (
        r#"<meta itemprop="priceCurrency" content="CAD"><span itemprop=price>12.99</span>"#,
        "EUR,CAD",
        "«25.98»",
    ),
    (
        r#"<meta property="og:price:currency" content="USD"><p>$12.99</p>"#,
        "EUR",
        "$12.99",
    ),
    (
        r#"<meta property="og:price:currency" content="GBP"><meta property="product:price:currency" content="EUR"><span itemprop=price>12.99</span>"#,
        "EUR,GBP",
        "«25.98»",
    ),
];

fn setup(currencies: &str, locale: &str) -> Setup {
    let mut list = currencies.split(',');
    let site = list.next().unwrap();
    let extra: Vec<String> = list.map(str::to_string).collect();
    let det = PriceDetection {
        currencies: extra,
        ..PriceDetection::default()
    };
    let options = Options::compile(&det, locale).unwrap();
    let loc: Localization = serde_json::from_str(r#"{"locales":["en-GB"]}"#).unwrap();
    let mut rates: std::collections::BTreeMap<String, f64> = [
        "GBP", "USD", "JPY", "KWD", "INR", "CHF", "PLN", "RON", "CAD",
    ]
    .iter()
    .map(|c| (c.to_string(), 1.0))
    .collect();
    rates.insert("SEK".into(), 2.0);
    let fx = FxRates {
        base: "EUR".into(),
        as_of: "2026-11-22T00:00:00Z".into(),
        rates,
    };
    let now = parse_rfc3339("2026-11-22T06:00:00Z").unwrap();
    Setup::new(
        site,
        &loc,
        std::rc::Rc::new(options),
        "SEK",
        Some(&fx),
        now,
        std::rc::Rc::new(|v, _| Some(format!("«{v:.2}»"))),
    )
}

fn run(html: &str, currencies: &str, locale: &str, chunk: usize) -> (String, Counts) {
    let (out, counts) = rewrite_page(
        html.as_bytes(),
        encoding_rs::UTF_8,
        setup(currencies, locale),
        chunk,
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), counts)
}

fn check(cases: &[Case], currencies: &str, locale: &str, failures: &mut Vec<String>) -> usize {
    for (input, want) in cases {
        let want = if *want == "=" { *input } else { want };
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let (got, _) = run(input, currencies, locale, chunk);
            if got != want {
                failures.push(format!("[{currencies} {locale} chunk {chunk}] {input:?}\n   want {want:?}\n    got {got:?}"));
                break;
            }
        }
    }
    cases.len()
}

#[test]
fn hand_written_corpus() {
    let mut failures = Vec::new();
    let mut n = 0;
    n += check(GBP_SITE, "GBP", "en-GB", &mut failures);
    n += check(EUR_SITE, "EUR", "de-DE", &mut failures);
    n += check(USD_SITE, "USD", "en-US", &mut failures);
    n += check(JPY_SITE, "JPY", "ja-JP", &mut failures);
    n += check(KWD_SITE, "KWD", "ar-KW", &mut failures);
    n += check(INR_SITE, "INR", "en-IN", &mut failures);
    n += check(CHF_SITE, "CHF", "de-CH", &mut failures);
    n += check(PLN_SITE, "PLN", "pl-PL", &mut failures);
    n += check(RON_SITE, "RON", "ro-RO", &mut failures);
    n += check(GBP_EUR_SITE, "GBP,EUR", "en-GB", &mut failures);
    for (input, currencies, want) in SIGNALS {
        n += 1;
        let (got, _) = run(input, currencies, "en-US", 5);
        if !got.contains(want) {
            failures.push(format!(
                "[signals {currencies}] {input:?}: want …{want:?}… got {got:?}"
            ));
        }
    }
    eprintln!("{n} snippets, {} failing", failures.len());
    assert!(n >= 200, "only {n} snippets");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn report_counts_every_outcome() {
    let page = "<p>£10 €20 $30 £1.2345</p><p class=notranslate>£5</p><p>£7</p>";
    let (_, c) = run(page, "GBP", "en-GB", 3);
    assert_eq!(
        c,
        Counts {
            found: 6,
            converted: 2,
            unknown_currency: 2,
            ambiguous: 1,
            excluded: 1,
            ..Counts::default()
        }
    );
    // Stale rates: found, not converted, said why; the price keeps its
    // currency in the visitor's format.
    let loc: Localization =
        serde_json::from_str(r#"{"locales":["en-GB"],"fx_max_age_hours":1}"#).unwrap();
    let options = Options::compile(&PriceDetection::default(), "en-GB").unwrap();
    let fx = FxRates {
        base: "GBP".into(),
        as_of: "2026-11-20T00:00:00Z".into(),
        rates: [("SEK".to_string(), 2.0)].into(),
    };
    let now = parse_rfc3339("2026-11-22T06:00:00Z").unwrap();
    let s = Setup::new(
        "GBP",
        &loc,
        std::rc::Rc::new(options),
        "SEK",
        Some(&fx),
        now,
        std::rc::Rc::new(|v, c| Some(format!("«{v:.2} {c}»"))),
    );
    let (out, c) = rewrite_page(b"<p>\xc2\xa372.99</p>", encoding_rs::UTF_8, s, 2).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "<p>«72.99 GBP»</p>");
    assert_eq!((c.found, c.stale_fx, c.converted), (1, 1, 0));
}

fn with_config(json: &str, html: &str) -> (String, Counts) {
    let det: PriceDetection = serde_json::from_str(json).unwrap();
    let options = Options::compile(&det, "en-GB").unwrap();
    let loc: Localization = serde_json::from_str(r#"{"locales":["en-GB"]}"#).unwrap();
    let fx = FxRates {
        base: "GBP".into(),
        as_of: "2026-11-22T00:00:00Z".into(),
        rates: [("SEK".to_string(), 2.0)].into(),
    };
    let now = parse_rfc3339("2026-11-22T06:00:00Z").unwrap();
    let s = Setup::new(
        "GBP",
        &loc,
        std::rc::Rc::new(options),
        "SEK",
        Some(&fx),
        now,
        std::rc::Rc::new(|v, _| Some(format!("«{v:.2}»"))),
    );
    let (out, c) = rewrite_page(html.as_bytes(), encoding_rs::UTF_8, s, 3).unwrap();
    (String::from_utf8(out).unwrap(), c)
}

#[test]
fn site_config_switches_narrows_and_extends() {
    let page = "<div class=buybox>£5</div><p>£6</p>";
    assert_eq!(
        with_config(r#"{"only":[".buybox"]}"#, page).0,
        "<div class=buybox>«10.00»</div><p>£6</p>"
    );
    assert_eq!(with_config(r#"{"detect":false}"#, page).0, page);
    assert_eq!(
        with_config(r#"{"exclude":["p"]}"#, page).0,
        "<div class=buybox>«10.00»</div><p>£6</p>"
    );
    // Shop-specific selectors make bare amounts prices.
    assert_eq!(
        with_config(r#"{"selectors":[".amt"]}"#, "<b class=amt>72</b>").0,
        "<b class=amt>«144.00»</b>"
    );
    assert_eq!(
        with_config("{}", "<b class=amt>72</b>").0,
        "<b class=amt>72</b>"
    );
    // A shop attribute in minor units: a hint, and a check of the text.
    let cents = r#"{"attributes":[{"name":"data-cents","unit":"minor"}]}"#;
    assert_eq!(
        with_config(cents, "<li data-cents=7299><span>72.99</span></li>").0,
        "<li data-cents=7299><span>«145.98»</span></li>"
    );
    let (out, c) = with_config(cents, "<li data-cents=7299><span>72.98</span></li>");
    assert_eq!(
        (out.as_str(), c.ambiguous),
        ("<li data-cents=7299><span>72.98</span></li>", 1)
    );
    // notranslate is honoured unless the shop says otherwise.
    let nt = "<span class=notranslate>£72.99</span>";
    assert_eq!(with_config("{}", nt).0, nt);
    assert_eq!(
        with_config(r#"{"honor_notranslate":false}"#, nt).0,
        "<span class=notranslate>«145.98»</span>"
    );
}

/// Random mixes of price characters, entities and inline/block tags at
/// random chunk sizes: never a panic, never a changed tag, and unchanged
/// text wherever no price was converted.
#[test]
fn random_snippets_never_break_markup() {
    const PARTS: &[&str] = &[
        "£",
        "€",
        "$",
        "US$",
        "EUR",
        "GBP",
        "kr",
        "zł",
        "¥",
        "Rs.",
        "1",
        "2",
        "9",
        "0",
        "12",
        "72",
        "99",
        "1,299",
        ".",
        ",",
        ",-",
        " ",
        "\u{a0}",
        "&nbsp;",
        "&euro;",
        "&pound;",
        "&amp;",
        "–",
        "-",
        "…",
        "x",
        "sold",
        "%",
        "<span>",
        "</span>",
        "<b class=price>",
        "</b>",
        "<sup>",
        "</sup>",
        "<div>",
        "</div>",
        "<br>",
        "<span itemprop=price>",
        "<!-- c -->",
        "<script>£5</script>",
        "<s>",
        "</s>",
        "é",
        "日本",
        "€\u{202f}",
        "<option>£3</option>",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let tags = |s: &str| -> Vec<String> {
        s.split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or("").to_string())
            .collect()
    };
    for _ in 0..3000 {
        let n = 1 + next(14);
        let html: String = (0..n).map(|_| PARTS[next(PARTS.len())]).collect();
        let chunk = 1 + next(9);
        let (out, counts) = run(&html, "GBP", "en-GB", chunk);
        assert_eq!(tags(&out), tags(&html), "{html:?} -> {out:?}");
        if counts.converted == 0 {
            assert_eq!(out, html, "nothing converted yet changed: chunk {chunk}");
        }
        assert!(
            !out.contains('\u{1}'),
            "a hold tag leaked: {html:?} -> {out:?}"
        );
    }
}

/// Invalid UTF-8 in a text node the stage carries (a page that says UTF-8
/// and is not, everywhere on the web): a browser shows each bad sequence as
/// U+FFFD, and so does the output. The bytes around it, the markup and the
/// price are handled as on a clean page, at any chunking; the page the
/// visitor sees is the same text as the origin's with the price converted.
#[test]
fn invalid_utf8_in_text_reads_as_a_browser_shows_it() {
    let html: &[u8] =
        b"<p>Caf\xe9 cr\xe8me \xc2\xa372.99 \xff\xfe</p><div>ok \xe2\x82</div><p>\xc2\xa35</p>";
    let shown = String::from_utf8_lossy(html)
        .replace("£72.99", "«145.98»")
        .replace("£5", "«10.00»");
    for chunk in [1, 2, 3, 5, 7, 64, 4096] {
        let (out, c) =
            rewrite_page(html, encoding_rs::UTF_8, setup("GBP", "en-GB"), chunk).unwrap();
        let out = String::from_utf8(out).expect("the output is valid UTF-8");
        assert_eq!(out, shown, "chunk {chunk}");
        assert_eq!(c.converted, 2, "chunk {chunk}");
    }
}
