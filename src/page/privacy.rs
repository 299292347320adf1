//! The visitor's privacy page (`personalization.privacy_path`): what
//! Borderless keeps about this browser, in plain words, and the forms that
//! clear it and opt out. A GET is rendered in phase two (its words come
//! from the locale's dictionary); a POST is answered in phase one and never
//! reaches the origin. The visitor's language and currency choice stay:
//! they are settings the visitor made, hold no identifier, and the shop
//! would otherwise lose its language. The shop's signed customer cookie is
//! the shop's own (it sets it at sign-in): it is not cleared, but an
//! opted-out visitor's is never read.

use crate::base::escape::{escape, escape_attr};
use crate::base::request_url::RequestUrl;
use crate::decide::consent::{Cookies, OPT_OUT_COOKIE};
use crate::decide::experiment::VISITOR_COOKIE;
use crate::decide::profile::{self, Profile};
use crate::decide::Visitor;
use crate::page::customer::{self, Why};
use crate::page::wire::{Answer, Request};
use crate::request::Context;
use crate::schema::{Dictionary, Personalization};
use std::fmt::Write;

/// The path when the config cannot be read (a POST there still stays here).
pub const DEFAULT_PATH: &str = "/__borderless/privacy";

/// Cookies a clear expires (the visitor id, the profile, the orders seen).
const CLEARED: [&str; 3] = [
    VISITOR_COOKIE,
    profile::COOKIE,
    crate::page::beacon::ORDERS_COOKIE,
];

/// What a POST asks for (`?do=` of the form's action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Clear,
    OptOut,
    OptIn,
}

impl Action {
    fn parse(v: &str) -> Option<Action> {
        match v {
            "clear" => Some(Action::Clear),
            "optout" => Some(Action::OptOut),
            "optin" => Some(Action::OptIn),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Action::Clear => "clear",
            Action::OptOut => "optout",
            Action::OptIn => "optin",
        }
    }
}

fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .trim_start_matches('?')
        .split('&')
        .take(8)
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn text_answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![
            ("content-type".into(), "text/plain; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: body.into(),
    }
}

/// Whether the request comes from a page of this site: the `Origin` header
/// browsers send with a POST, else `Sec-Fetch-Site`. Neither: refused, so
/// another site cannot clear or opt out for the visitor.
fn same_site(req: &Request, origin: &str) -> bool {
    match req.header("origin") {
        Some(o) => o.eq_ignore_ascii_case(origin),
        None => req.header("sec-fetch-site") == Some("same-origin"),
    }
}

/// Phase one, any method but GET on the privacy path: a same-site POST
/// clears (and opts out or back in), then sends the visitor to the page.
pub fn post(req: &Request, url: &RequestUrl, path: &str) -> Answer {
    if req.method != "POST" {
        let mut a = text_answer(405, "Method Not Allowed");
        a.headers.push(("allow".into(), "GET, POST".into()));
        return a;
    }
    if !same_site(req, &url.origin()) {
        return text_answer(403, "Forbidden: not from this site");
    }
    let Some(action) = url
        .query()
        .and_then(|q| param(q, "do"))
        .and_then(Action::parse)
    else {
        return text_answer(400, "Bad Request: do=clear, optout or optin");
    };
    let secure = if url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let expire = |name: &str| format!("{name}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly{secure}");
    let mut cookies: Vec<String> = Vec::new();
    match action {
        Action::Clear => cookies.extend(CLEARED.iter().map(|c| expire(c))),
        Action::OptOut => {
            cookies.extend(CLEARED.iter().map(|c| expire(c)));
            cookies.push(format!(
                "{OPT_OUT_COOKIE}=1; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}"
            ));
        }
        Action::OptIn => cookies.push(expire(OPT_OUT_COOKIE)),
    }
    let mut headers = vec![
        (
            "location".into(),
            format!("{path}?done={}", action.as_str()),
        ),
        ("cache-control".into(), "no-store".into()),
    ];
    headers.extend(cookies.into_iter().map(|c| ("set-cookie".into(), c)));
    Answer {
        status: 303,
        headers,
        body: String::new(),
    }
}

/// What the page shows, gathered in phase one.
#[derive(Debug, Clone)]
pub struct Held {
    path: String,
    profile: Option<Profile>,
    visitor_id: Option<String>,
    cookies: Option<Cookies>,
    assignment: Option<String>,
    personalized: bool,
    history: Result<(), Why>,
    opted_out: bool,
    done: Option<Action>,
}

impl Held {
    /// From the request's cookies as they are, whatever the consent now
    /// (a cookie kept from before GPC is still there to be cleared).
    pub fn read(
        p: &Personalization,
        ctx: &Context,
        visitor: Option<&Visitor>,
        query: &str,
        vars: &crate::page::Vars,
        now_ms: i64,
    ) -> Held {
        // No id yet (this page makes none): the group is drawn on the next
        // page, so say what holds for most visitors rather than "control".
        let visitor = visitor.map(|v| {
            let mut v = v.clone();
            if v.id.is_none() && v.cookies.allowed() {
                std::rc::Rc::make_mut(&mut v.assignment).personalized = true;
            }
            v
        });
        let visitor = visitor.as_ref();
        let history = match visitor {
            Some(v) => customer::identify(v, ctx, vars.cookie_secret, vars.customer_key, now_ms)
                .map(|_| ()),
            None => Err(Why::NoConsent),
        };
        Held {
            path: p.privacy_path.clone(),
            profile: ctx
                .cookie(profile::COOKIE)
                .and_then(|v| Profile::parse(v, now_ms)),
            visitor_id: ctx
                .cookie(VISITOR_COOKIE)
                .filter(|v| crate::decide::experiment::valid_visitor_id(v))
                .map(str::to_string),
            cookies: visitor.map(|v| v.cookies),
            assignment: visitor
                .filter(|v| v.id.is_some())
                .map(|v| v.assignment.label.clone()),
            personalized: visitor.is_some_and(|v| v.assignment.personalized),
            history,
            opted_out: ctx.cookie(OPT_OUT_COOKIE) == Some("1"),
            done: param(query, "done").and_then(Action::parse),
        }
    }
}

/// The page's words: the dictionary's, else English.
struct Words<'a>(Option<&'a Dictionary>);

impl Words<'_> {
    fn get<'w>(&'w self, key: &str, english: &'w str) -> std::borrow::Cow<'w, str> {
        escape(
            self.0
                .and_then(|d| d.entries.get(key))
                .map_or(english, String::as_str),
        )
    }
}

/// Phase two: the page, in `locale` with `dict`.
pub fn page(h: &Held, locale: &str, dict: Option<&Dictionary>) -> Answer {
    let w = Words(dict);
    let mut b = String::with_capacity(4096);
    let title = w.get("privacy.title", "Your privacy on this shop");
    let _ = write!(
        b,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1>",
        escape_attr(locale)
    );
    if let Some(done) = h.done {
        let (key, english) = match done {
            Action::Clear => (
                "privacy.done.clear",
                "Done: what was kept about you is cleared.",
            ),
            Action::OptOut => (
                "privacy.done.optout",
                "Done: cleared, and this shop no longer personalizes for you in this browser.",
            ),
            Action::OptIn => (
                "privacy.done.optin",
                "Done: personalization is allowed again.",
            ),
        };
        let _ = write!(b, "<p role=\"status\">{}</p>", w.get(key, english));
    }
    let _ = write!(
        b,
        "<p>{}</p><dl>",
        w.get(
            "privacy.intro",
            "This shop uses Borderless to show its pages in your language and currency and to suggest products. This is what it keeps about you, in cookies in this browser only."
        )
    );
    let none = w.get("privacy.none", "Nothing");
    let list = |items: Vec<String>| -> String {
        if items.is_empty() {
            none.to_string()
        } else {
            let li: String = items
                .iter()
                .map(|i| format!("<li>{}</li>", escape(i)))
                .collect();
            format!("<ul>{li}</ul>")
        }
    };
    let recent = h.profile.as_ref().map_or(Vec::new(), |p| p.recent.clone());
    let interests = h.profile.as_ref().map_or(Vec::new(), |p| {
        p.categories.iter().map(|(c, _)| c.clone()).collect()
    });
    let mut row = |dt: std::borrow::Cow<str>, dd: String| {
        let _ = write!(b, "<dt>{dt}</dt><dd>{dd}</dd>");
    };
    row(
        w.get("privacy.recent", "Products you viewed recently"),
        list(recent),
    );
    row(
        w.get("privacy.interests", "Categories you seem interested in"),
        list(interests),
    );
    row(
        w.get(
            "privacy.visitor_id",
            "Visitor number (to measure what works)",
        ),
        h.visitor_id
            .as_deref()
            .map_or(none.to_string(), |v| format!("<code>{}</code>", escape(v))),
    );
    row(
        w.get("privacy.group", "Experiment group"),
        h.assignment
            .as_deref()
            .map_or(none.to_string(), |a| escape(a).into_owned()),
    );
    let personal = match h.cookies {
        Some(Cookies::Allowed) if h.personalized => w.get("privacy.on", "On").into_owned(),
        Some(Cookies::Allowed) => w
            .get(
                "privacy.off.comparison",
                "Off: you are in the group that sees the shop as it is",
            )
            .into_owned(),
        Some(Cookies::Gpc) => w
            .get(
                "privacy.off.gpc",
                "Off: your browser sends Global Privacy Control",
            )
            .into_owned(),
        Some(Cookies::OptOut) => w
            .get("privacy.off.optout", "Off: you opted out")
            .into_owned(),
        Some(Cookies::NoConsent) => w
            .get("privacy.off.consent", "Off: you have not accepted cookies")
            .into_owned(),
        Some(Cookies::Crawler) | None => w.get("privacy.off", "Off").into_owned(),
    };
    row(w.get("privacy.personal", "Personalization"), personal);
    let history = match h.history {
        Ok(()) => w.get("privacy.on", "On"),
        Err(Why::NoCookie) => w.get("privacy.off.signed_out", "Off: you are not signed in"),
        Err(Why::Invalid) => w.get(
            "privacy.off.unverified",
            "Off: your sign-in could not be verified",
        ),
        Err(Why::NotPersonalized) => w.get(
            "privacy.off.comparison",
            "Off: you are in the group that sees the shop as it is",
        ),
        Err(_) => w.get("privacy.off", "Off"),
    };
    row(
        w.get("privacy.history", "Suggestions from your purchase history"),
        history.into_owned(),
    );
    let _ = write!(
        b,
        "</dl><p>{}</p>",
        w.get(
            "privacy.kept",
            "Your choice of language and currency is kept; change it with the shop's switcher."
        )
    );
    let form = |action: &str, label: std::borrow::Cow<str>| {
        format!(
            "<form method=\"post\" action=\"{}?do={action}\"><button type=\"submit\">{label}</button></form>",
            escape_attr(&h.path)
        )
    };
    b.push_str(&form(
        "clear",
        w.get("privacy.clear", "Clear what is kept about me"),
    ));
    b.push_str(&if h.opted_out {
        form(
            "optin",
            w.get("privacy.optin", "Allow personalization again"),
        )
    } else {
        form(
            "optout",
            w.get("privacy.optout", "Clear it and stop personalizing for me"),
        )
    });
    b.push_str("</main></body></html>");
    Answer {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
            (
                "content-security-policy".into(),
                "default-src 'none'; form-action 'self'; frame-ancestors 'none'".into(),
            ),
            ("x-robots-tag".into(), "noindex".into()),
        ],
        body: b,
    }
}
