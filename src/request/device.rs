//! Device class from the User-Agent and the `Sec-CH-UA-Mobile` client hint.
//!
//! Four classes are all the shop needs, so a few ordered token rules (MDN's
//! "Mobi" guidance plus crawler tokens) do the job without a regex engine in
//! the WASM bundle.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Mobile,
    Tablet,
    Desktop,
    Bot,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Desktop => "desktop",
            Device::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Device> {
        [Device::Mobile, Device::Tablet, Device::Desktop, Device::Bot]
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }
}

/// Crawlers, link previewers and HTTP libraries (matched case-insensitively).
const BOT_TOKENS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "mediapartners",
    "facebookexternalhit",
    "facebookcatalog",
    "embedly",
    "quora link preview",
    "outbrain",
    "vkshare",
    "w3c_validator",
    "whatsapp",
    "lighthouse",
    "headlesschrome",
    "phantomjs",
    "preview",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
    "httpclient",
    "axios/",
    "node-fetch",
    "undici",
    "scrapy",
    "feedfetcher",
    "ia_archiver",
    "archive.org",
    "yandex",
    "baiduspider",
    "bingpreview",
    "google-inspectiontool",
    "googleother",
    "petalsearch",
    "daumoa",
    "sogou",
    "gptbot",
    "chatgpt-user",
    "perplexity-user",
];

const MAX_UA: usize = 512;

/// Classifies a request. A missing User-Agent is a bot: browsers always send one.
pub fn classify(user_agent: Option<&str>, ch_ua_mobile: Option<&str>) -> Device {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return Device::Bot;
    };
    let hint = ch_ua_mobile.map(str::trim) == Some("?1");
    if ua.len() > MAX_UA {
        return scan(ua, hint);
    }
    // Most visitors share a handful of browsers' exact strings: the last
    // few answers are kept (bounded: RECENT entries of at most MAX_UA bytes).
    thread_local! {
        static SEEN: std::cell::RefCell<Recent> = const { std::cell::RefCell::new((0, Vec::new())) };
    }
    SEEN.with_borrow_mut(|(next, seen)| {
        if let Some((_, _, d)) = seen.iter().find(|(u, h, _)| *h == hint && u == ua) {
            return *d;
        }
        let d = scan(ua, hint);
        let e = (ua.to_string(), hint, d);
        if seen.len() < RECENT {
            seen.push(e);
        } else if let Some(slot) = seen.get_mut(*next) {
            *slot = e;
            *next = (*next + 1) % RECENT;
        }
        d
    })
}

const RECENT: usize = 16;
/// The next slot to replace, and (User-Agent, hint, answer) entries.
type Recent = (usize, Vec<(String, bool, Device)>);

fn scan(ua: &str, hint: bool) -> Device {
    // Long UAs are truncated at a char boundary; the tokens sit early.
    let mut end = ua.len().min(MAX_UA);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    let ua = ua.get(..end).unwrap_or("").to_ascii_lowercase();
    let has = |t: &str| ua.contains(t);
    // Searchers built once: `str::contains` builds one per token and call.
    static BOTS: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    let bots = BOTS.get_or_init(|| BOT_TOKENS.iter().map(memchr::memmem::Finder::new).collect());
    if bots.iter().any(|f| f.find(ua.as_bytes()).is_some()) {
        return Device::Bot;
    }
    if hint {
        return Device::Mobile;
    }
    if has("ipad")
        || has("tablet")
        || has("kindle")
        || has("silk/")
        || has("playbook")
        || (has("android") && !has("mobile"))
    {
        return Device::Tablet;
    }
    if has("mobi") || has("iphone") || has("ipod") || has("windows phone") || has("opera mini") {
        return Device::Mobile;
    }
    Device::Desktop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_user_agents() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Device::Desktop),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", Device::Desktop),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", Device::Desktop),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", Device::Mobile),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", Device::Mobile),
            ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", Device::Mobile),
            ("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", Device::Tablet),
            ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Device::Tablet),
            ("Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/131.4.1 like Chrome/131.0.0.0 Safari/537.36", Device::Tablet),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Device::Bot),
            ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Device::Bot),
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", Device::Bot),
            ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", Device::Bot),
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", Device::Bot),
            ("curl/8.5.0", Device::Bot),
            ("python-requests/2.32.3", Device::Bot),
        ];
        for (ua, want) in cases {
            assert_eq!(classify(Some(ua), None), want, "{ua}");
        }
    }

    #[test]
    fn the_recent_answers_are_the_scans() {
        let desktop =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36";
        let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        // More distinct strings than are kept, twice over, with and without the hint.
        for round in 0..2 {
            for i in 0..3 * RECENT {
                let ua = format!("{desktop} v{i}");
                assert_eq!(classify(Some(&ua), None), Device::Desktop, "{round} {i}");
                assert_eq!(
                    classify(Some(&ua), Some("?1")),
                    Device::Mobile,
                    "{round} {i}"
                );
                assert_eq!(classify(Some(bot), Some("?1")), Device::Bot);
                assert_eq!(classify(Some(&ua), Some("?0")), Device::Desktop);
            }
        }
        let long = format!("{desktop} {}", "x".repeat(MAX_UA));
        assert_eq!(classify(Some(&long), None), Device::Desktop);
    }

    #[test]
    fn client_hint_and_missing_ua() {
        let chrome = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        assert_eq!(classify(Some(chrome), Some("?1")), Device::Mobile);
        let desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(classify(Some(desktop), Some("?1")), Device::Mobile);
        assert_eq!(classify(Some(desktop), Some("?0")), Device::Desktop);
        assert_eq!(classify(None, None), Device::Bot);
        assert_eq!(classify(Some("   "), None), Device::Bot);
        // Oversized and non-ASCII input is bounded, not a crash.
        let long = "é".repeat(10_000);
        assert_eq!(classify(Some(&long), None), Device::Desktop);
    }

    #[test]
    fn parse_round_trips() {
        for d in [Device::Mobile, Device::Tablet, Device::Desktop, Device::Bot] {
            assert_eq!(Device::parse(d.as_str()), Some(d));
        }
        assert_eq!(Device::parse("MOBILE"), Some(Device::Mobile));
        assert_eq!(Device::parse("phone"), None);
    }
}
