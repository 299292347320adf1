//! `/__borderless/switch?locale=..&currency=..&return=..`: sets the
//! visitor's choice and sends them back (only clicks use it, never geo).

use crate::base::money;
use crate::base::url::{encode_location, is_local_path, percent_decode};
use crate::config::SiteConfig;
use crate::decide::{locale, CURRENCY_COOKIE, LOCALE_COOKIE};

/// The switcher endpoint: validates `locale`, `currency` and `return` from
/// the query; returns where to send the visitor and the cookies to set.
pub fn switch(query: &str, site: &SiteConfig, secure: bool) -> (String, Vec<String>) {
    let mut back = "/".to_string();
    let (mut locale, mut currency) = (None, None);
    let Some(loc) = &site.doc.localization else {
        return (back, Vec::new());
    };
    for pair in query.trim_start_matches('?').split('&').take(8) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(v) = percent_decode(v) else { continue };
        match k {
            "locale" => locale = loc.locales.iter().find(|l| l.eq_ignore_ascii_case(&v)),
            "currency" => {
                let known = money::territory_currency_known(&v) || v == site.doc.site.currency;
                currency = (if loc.currencies.is_empty() {
                    known
                } else {
                    loc.currencies.contains(&v)
                })
                .then_some(v)
            }
            "return" if is_local_path(&v) => back = v,
            _ => {}
        }
    }
    let attrs = format!(
        "; Path=/; Max-Age=31536000; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    let mut cookies = Vec::new();
    if let Some(l) = locale {
        cookies.push(format!("{}={l}{attrs}", LOCALE_COOKIE));
        if loc.url_prefixes {
            let path =
                locale::split_prefix(&back, &loc.locales).map_or(back.as_str(), |(_, rest)| rest);
            back = if *l == site.doc.site.default_locale {
                path.to_string()
            } else {
                format!("{}{path}", locale::prefix_of(l))
            };
        }
    }
    if let Some(c) = currency {
        cookies.push(format!("{}={c}{attrs}", CURRENCY_COOKIE));
    }
    // The return path was checked before its prefix came off; check what is
    // left (`/de-de//evil.test` must not become `//evil.test`).
    if !is_local_path(&back) {
        back = "/".to_string();
    }
    // Encoding may triple its length past the bound (found by fuzzing):
    // the header sent is what is validated.
    let location = Some(encode_location(&back))
        .filter(|l| is_local_path(l))
        .unwrap_or_else(|| "/".to_string());
    (location, cookies)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::tests::l10n_site as site;

    #[test]
    fn switch_endpoint_validates_everything() {
        let s = site(r#","url_prefixes":true"#);
        let (to, cookies) = switch(
            "locale=de-DE&currency=EUR&return=%2Fp%2F1%3Fx%3D1",
            &s,
            true,
        );
        assert_eq!(to, "/de-de/p/1?x=1");
        assert_eq!(
            cookies,
            [
                "borderless_locale=de-DE; Path=/; Max-Age=31536000; SameSite=Lax; Secure",
                "borderless_currency=EUR; Path=/; Max-Age=31536000; SameSite=Lax; Secure",
            ]
        );
        let (to, _) = switch("locale=en-GB&return=/de-de/p/1", &s, false);
        assert_eq!(to, "/p/1");
        for evil in [
            "return=//evil.test/",
            "return=https://evil.test",
            "return=/%5Cevil.test",
            "return=/a%0d%0aSet-Cookie:x=1",
            "return=%ZZ",
            "locale=en-GB&return=/de-de//evil.com",
            "locale=en-GB&return=/de-de/%2F/evil.com",
            "locale=en-GB&return=/de-de/%5Cevil.com",
        ] {
            assert_eq!(switch(evil, &s, false).0, "/", "{evil}");
        }
        // Fuzzing: a return path under the bound whose encoding is over it.
        let long = format!("return=/{}", "é".repeat(1000));
        assert_eq!(switch(&long, &s, false).0, "/");
        let ok = format!("return=/{}", "é".repeat(300));
        assert!(switch(&ok, &s, false).0.starts_with("/%C3%A9"));
        let (_, cookies) = switch(
            "locale=xx-YY&currency=JPY&currency=EUR%3B%20Domain%3Devil",
            &s,
            false,
        );
        assert!(cookies.is_empty(), "{cookies:?}");
    }
}
