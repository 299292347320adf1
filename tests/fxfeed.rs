//! The FX feed: ECB XML and JSON parsed, and good, malformed, partial, stale,
//! future and jumpy feeds judged as the scheduled handler and `borderless fx`
//! judge them.

use borderless::base::fxfeed::{self, FeedError, Format, Policy};
use borderless::base::money::Converter;
use borderless::base::time::parse_rfc3339;
use borderless::schema::{Config, FxRates};
use std::collections::BTreeMap;

/// The shape of eurofxref-daily.xml (namespaces, single quotes, tabs).
fn ecb(date: &str, usd: &str, gbp: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<gesmes:Sender>
		<gesmes:name>European Central Bank</gesmes:name>
	</gesmes:Sender>
	<Cube>
		<Cube time='{date}'>
			<Cube currency='USD' rate='{usd}'/>
			<Cube currency='JPY' rate='163.92'/>
			<Cube currency='CHF' rate='0.9312'/>
			<Cube currency='GBP' rate='{gbp}'/>
			<Cube currency='SEK' rate='11.0415'/>
		</Cube>
	</Cube>
</gesmes:Envelope>
"#
    )
}

fn config(currencies: &str) -> Config {
    let json = format!(
        r#"{{"version":1,"bundle":"b1","site":{{"default_locale":"en-GB","currency":"GBP"}},
        "localization":{{"locales":["en-GB","de-DE"],"currencies":{currencies},"fx_max_age_hours":48}}}}"#
    );
    serde_json::from_str(&json).unwrap()
}

fn now() -> i64 {
    parse_rfc3339("2026-11-27T15:30:00Z").unwrap()
}

fn policy() -> Policy {
    Policy::for_config(&config(r#"["GBP","EUR","USD","CHF","JPY"]"#))
}

#[test]
fn good_ecb_feed_becomes_the_live_value() {
    let feed = fxfeed::parse(&ecb("2026-11-27", "1.0523", "0.8321"), Format::Auto).unwrap();
    assert_eq!(
        (feed.base.as_str(), feed.published.as_str()),
        ("EUR", "2026-11-27")
    );
    assert_eq!(feed.rates.len(), 5);
    let v = fxfeed::validate(&feed, None, &policy(), now()).unwrap();
    assert_eq!(v.base, "EUR");
    assert_eq!(v.as_of, "2026-11-27T15:30:00Z");
    // Only the shop's currencies are kept (SEK is not one).
    let codes: Vec<&str> = v.rates.keys().map(String::as_str).collect();
    assert_eq!(codes, ["CHF", "GBP", "JPY", "USD"]);
    // The worker converts with it: GBP → USD through the EUR base.
    let loc = config("[]").localization.unwrap();
    let c = Converter::new("GBP", "USD", Some(&v), now() + 3_600_000, &loc).unwrap();
    assert_eq!(c.convert(10.0, "GBP"), Some(12.65)); // 10 * 1.0523 / 0.8321 = 12.6463
}

#[test]
fn json_map_feeds() {
    let body = r#"{"amount":1.0,"base":"GBP","date":"2026-11-26","rates":{"EUR":1.2018,"USD":1.2647,"CHF":1.119,"JPY":197.0}}"#;
    let feed = fxfeed::parse(body, Format::Auto).unwrap();
    assert_eq!(feed.base, "GBP");
    let v = fxfeed::validate(&feed, None, &policy(), now()).unwrap();
    assert_eq!(v.rates["EUR"], 1.2018);
    // The FxRates shape itself (as_of) is a JSON feed too.
    let own = serde_json::to_string(&v).unwrap();
    assert_eq!(fxfeed::parse(&own, Format::Json).unwrap().rates, v.rates);
    // A quote for 100 units of the base is not understood.
    let hundred = body.replace("\"amount\":1.0", "\"amount\":100");
    assert!(matches!(
        fxfeed::parse(&hundred, Format::Auto),
        Err(FeedError::Malformed(_))
    ));
}

#[test]
fn malformed_feeds_are_refused() {
    let good = ecb("2026-11-27", "1.0523", "0.8321");
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "fx_feed_malformed"),
        (
            "<html><body>Service unavailable</body></html>".into(),
            "fx_feed_malformed",
        ),
        (good[..good.len() / 2].to_string(), "fx_feed_malformed"),
        (
            good.replace("rate='1.0523'", "rate='1,0523'"),
            "fx_feed_invalid_rate",
        ),
        (
            good.replace("rate='1.0523'", "rate='-1.0523'"),
            "fx_feed_invalid_rate",
        ),
        (
            good.replace("rate='1.0523'", "rate='NaN'"),
            "fx_feed_invalid_rate",
        ),
        (
            good.replace("rate='1.0523'", "rate='0'"),
            "fx_feed_invalid_rate",
        ),
        (good.replace("rate='1.0523'", ""), "fx_feed_malformed"),
        (
            good.replace("currency='JPY'", "currency='USD'"),
            "fx_feed_malformed",
        ),
        (
            good.replace("currency='JPY'", "currency='jp¥'"),
            "fx_feed_malformed",
        ),
        (
            good.replace("time='2026-11-27'", "time='27.11.2026'"),
            "fx_feed_malformed",
        ),
        (
            good.replace("rate='1.0523'/>", "rate='1.0523/>"),
            "fx_feed_malformed",
        ),
        (
            "{\"base\":\"EUR\",\"rates\":{\"USD\":1.05}}".into(),
            "fx_feed_malformed",
        ),
        (
            "{\"base\":\"EUR\",\"date\":\"2026-11-27\",\"rates\":{\"USD\":\"1.05\"}}".into(),
            "fx_feed_malformed",
        ),
        (
            "{\"base\":\"EUR\",\"date\":\"2026-11-27\",\"rates\":{\"USD\":-2}}".into(),
            "fx_feed_invalid_rate",
        ),
        (
            "{\"base\":\"EUR\",\"date\":\"2026-11-27\",\"rates\":{}}".into(),
            "fx_feed_malformed",
        ),
        ("\u{1F4B6} not a feed".into(), "fx_feed_malformed"),
        ("x".repeat(fxfeed::MAX_FEED_BYTES + 1), "fx_feed_malformed"),
    ];
    for (body, kind) in cases {
        let err = fxfeed::parse(&body, Format::Auto).unwrap_err();
        assert_eq!(
            err.kind(),
            kind,
            "{err} for {:?}",
            body.get(..80).unwrap_or(&body)
        );
    }
    // A rate outside any dated cube.
    let loose = "<Cube><Cube currency='USD' rate='1.05'/></Cube>";
    assert!(fxfeed::parse(loose, Format::Ecb).is_err());
}

#[test]
fn partial_feed_names_what_is_missing() {
    let feed = fxfeed::parse(&ecb("2026-11-27", "1.0523", "0.8321"), Format::Auto).unwrap();
    let p = Policy::for_config(&config(r#"["GBP","EUR","USD","AED","SAR"]"#));
    let err = fxfeed::validate(&feed, None, &p, now()).unwrap_err();
    assert_eq!(err, FeedError::Missing(vec!["AED".into(), "SAR".into()]));
    assert_eq!(err.kind(), "fx_feed_partial");
    // Without GBP the shop's own currency cannot be converted from.
    let no_gbp =
        ecb("2026-11-27", "1.0523", "0.8321").replace("<Cube currency='GBP' rate='0.8321'/>", "");
    let feed = fxfeed::parse(&no_gbp, Format::Auto).unwrap();
    assert_eq!(
        fxfeed::validate(&feed, None, &policy(), now()),
        Err(FeedError::Missing(vec!["GBP".into()]))
    );
}

#[test]
fn stale_and_future_feeds() {
    let p = policy();
    let at = |date: &str| fxfeed::parse(&ecb(date, "1.0523", "0.8321"), Format::Ecb).unwrap();
    // Friday's rates on Monday afternoon: 87 h, within the default 96.
    let monday = parse_rfc3339("2026-11-30T15:00:00Z").unwrap();
    assert!(fxfeed::validate(&at("2026-11-27"), None, &p, monday).is_ok());
    let err = fxfeed::validate(&at("2026-11-20"), None, &p, monday).unwrap_err();
    assert_eq!(
        err,
        FeedError::Stale {
            published: "2026-11-20".into(),
            age_hours: 255
        }
    );
    let tight = Policy {
        max_age_hours: 24,
        ..p.clone()
    };
    assert_eq!(
        fxfeed::validate(&at("2026-11-27"), None, &tight, monday).map_err(|e| e.kind()),
        Err("fx_feed_stale")
    );
    let err = fxfeed::validate(&at("2026-12-01"), None, &p, monday).unwrap_err();
    assert_eq!(err, FeedError::Future("2026-12-01".into()));
}

fn last_good() -> FxRates {
    // The bundle's rates, GBP-based: a different base from the feed's.
    FxRates {
        base: "GBP".into(),
        as_of: "2026-11-26T16:00:00Z".into(),
        rates: BTreeMap::from([
            ("EUR".into(), 1.2018),
            ("USD".into(), 1.2647),
            ("CHF".into(), 1.119),
            ("JPY".into(), 197.0),
        ]),
    }
}

#[test]
fn jumpy_feed_needs_force() {
    let p = policy();
    let last = last_good();
    // Ordinary moves (well under 10 %) pass.
    let feed = fxfeed::parse(&ecb("2026-11-27", "1.0523", "0.8321"), Format::Ecb).unwrap();
    assert!(fxfeed::validate(&feed, Some(&last), &p, now()).is_ok());
    // USD 20 % up against everything.
    let jumpy = fxfeed::parse(&ecb("2026-11-27", "1.2628", "0.8321"), Format::Ecb).unwrap();
    match fxfeed::validate(&jumpy, Some(&last), &p, now()) {
        Err(FeedError::Jump { currency, share }) => {
            assert_eq!(currency, "USD");
            assert!((share - 0.2).abs() < 0.01, "{share}");
        }
        other => panic!("{other:?}"),
    }
    // GBP itself (the shop's currency) moving moves every cross rate.
    let gbp = fxfeed::parse(&ecb("2026-11-27", "1.0523", "0.99"), Format::Ecb).unwrap();
    let err = fxfeed::validate(&gbp, Some(&last), &p, now()).unwrap_err();
    assert_eq!(err.kind(), "fx_feed_jump");
    let forced = Policy {
        force: true,
        ..p.clone()
    };
    assert!(fxfeed::validate(&jumpy, Some(&last), &forced, now()).is_ok());
    let loose = Policy {
        max_jump: 0.25,
        ..p
    };
    assert!(fxfeed::validate(&jumpy, Some(&last), &loose, now()).is_ok());
}

#[test]
fn ninety_day_file_takes_the_latest_day() {
    let body = "<Envelope><Cube>\
        <Cube time=\"2026-11-27\"><Cube currency=\"USD\" rate=\"1.05\"/><Cube currency=\"GBP\" rate=\"0.83\"/></Cube>\
        <!-- <Cube time='2027-01-01'> -->\
        <Cube time=\"2026-11-26\"><Cube currency=\"USD\" rate=\"1.04\"/><Cube currency=\"GBP\" rate=\"0.84\"/></Cube>\
        </Cube></Envelope>";
    let feed = fxfeed::parse(body, Format::Auto).unwrap();
    assert_eq!(feed.published, "2026-11-27");
    assert_eq!(feed.rates["USD"], 1.05);
}

#[test]
fn refresh_writes_or_logs_one_error_line() {
    let p = policy();
    let good = ecb("2026-11-27", "1.0523", "0.8321");
    let (v, line) = fxfeed::refresh("ecb", Ok(&good), Format::Auto, None, &p, now());
    assert!(v.is_some());
    let j: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (j["event"].as_str(), j["published"].as_str()),
        (Some("fx_refreshed"), Some("2026-11-27"))
    );
    for (body, kind) in [
        (
            Err("connect ECONNREFUSED".to_string()),
            "fx_feed_unreachable",
        ),
        (Ok("<html/>".to_string()), "fx_feed_malformed"),
        (Ok(ecb("2026-11-01", "1.0523", "0.8321")), "fx_feed_stale"),
    ] {
        let (v, line) = fxfeed::refresh(
            "ecb",
            body.as_deref().map_err(Clone::clone),
            Format::Auto,
            None,
            &p,
            now(),
        );
        assert!(v.is_none());
        assert!(!line.contains('\n'));
        let j: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (j["level"].as_str(), j["event"].as_str()),
            (Some("error"), Some(kind)),
            "{line}"
        );
    }
}

#[test]
fn settings_from_vars() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let s = fxfeed::Settings::from_vars(vars(&[])).unwrap().unwrap();
    assert_eq!(s.source, fxfeed::ECB_DAILY_URL);
    assert_eq!(
        (s.format, s.max_age_hours, s.max_jump),
        (Format::Auto, 96, 0.1)
    );
    assert_eq!(
        fxfeed::Settings::from_vars(vars(&[("FX_SOURCE", "")])),
        Ok(None)
    );
    let s = fxfeed::Settings::from_vars(vars(&[
        ("FX_SOURCE", "http://127.0.0.1:9/rates.json"),
        ("FX_FORMAT", "json"),
        ("FX_MAX_AGE_HOURS", "30"),
        ("FX_MAX_JUMP", "0.25"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(
        (s.format, s.max_age_hours, s.max_jump),
        (Format::Json, 30, 0.25)
    );
    assert_eq!(
        s.policy(&config(r#"["GBP","USD"]"#)).required,
        ["GBP", "USD"]
    );
    for bad in [
        [("FX_SOURCE", "file:///etc/passwd"), ("FX_FORMAT", "")],
        [("FX_FORMAT", "csv"), ("FX_MAX_JUMP", "0.1")],
        [("FX_MAX_AGE_HOURS", "-1"), ("FX_FORMAT", "")],
        [("FX_MAX_JUMP", "NaN"), ("FX_FORMAT", "")],
    ] {
        let pairs: &'static [(&str, &str)] = Box::leak(Box::new(bad));
        assert!(fxfeed::Settings::from_vars(vars(pairs)).is_err(), "{bad:?}");
    }
}

#[test]
fn live_rates_win_unless_the_bundle_is_newer() {
    let bundle = last_good();
    let mut live = last_good();
    live.as_of = "2026-11-27T15:00:00Z".into();
    assert_eq!(fxfeed::freshest(Some(&live), Some(&bundle)), Some(&live));
    assert_eq!(fxfeed::freshest(None, Some(&bundle)), Some(&bundle));
    assert_eq!(fxfeed::freshest(Some(&live), None), Some(&live));
    live.as_of = "2026-11-01T00:00:00Z".into();
    assert_eq!(fxfeed::freshest(Some(&live), Some(&bundle)), Some(&bundle));
    live.as_of = "garbage".into();
    assert_eq!(fxfeed::freshest(Some(&live), Some(&bundle)), Some(&bundle));
    assert_eq!(fxfeed::freshest(Some(&live), None), None);
}
