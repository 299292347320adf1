//! The card template's strict HTML subset: a tokenizer that accepts only
//! what the allow-lists name and writes the markup back canonically.

use super::{Field, Part};

/// Elements a card may use; `VOID` ones have no end tag.
const ELEMENTS: [&str; 30] = [
    "a",
    "abbr",
    "article",
    "b",
    "bdi",
    "br",
    "del",
    "div",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "i",
    "img",
    "ins",
    "li",
    "mark",
    "ol",
    "p",
    "s",
    "section",
    "small",
    "span",
    "strong",
    "u",
    "ul",
];
const VOID: [&str; 2] = ["br", "img"];

/// Attributes allowed on any element (besides `data-*` and `aria-*`).
const ATTRS: [&str; 9] = [
    "class",
    "id",
    "title",
    "lang",
    "dir",
    "role",
    "translate",
    "hreflang",
    "rel",
];

/// Deepest nesting and most tags: a template is a small card.
const MAX_DEPTH: usize = 16;
const MAX_TAGS: usize = 256;

fn attr_allowed(element: &str, name: &str) -> bool {
    let tail_ok = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    ATTRS.contains(&name)
        || name.strip_prefix("data-").is_some_and(tail_ok)
        || name.strip_prefix("aria-").is_some_and(tail_ok)
        || is_url_attr(element, name)
        || (element == "img" && ["alt", "width", "height", "loading", "decoding"].contains(&name))
}

fn is_url_attr(element: &str, name: &str) -> bool {
    (element == "a" && name == "href") || (element == "img" && name == "src")
}

fn field(name: &str) -> Result<Field, String> {
    Ok(match name {
        "id" => Field::Id,
        "title" => Field::Title,
        "url" => Field::Url,
        "image" => Field::Image,
        "price" => Field::Price,
        "category" => Field::Category,
        other => return Err(format!("unknown placeholder {{{other}}}")),
    })
}

struct Out {
    parts: Vec<Part>,
}

impl Out {
    fn lit(&mut self, s: &str) {
        if let Some(Part::Lit(last)) = self.parts.last_mut() {
            last.push_str(s);
        } else if !s.is_empty() {
            self.parts.push(Part::Lit(s.to_string()));
        }
    }
}

/// Splits `s` into literal runs and placeholders.
fn pieces(s: &str) -> Result<Vec<Part>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find(['{', '}']) {
        let (lit, tail) = rest.split_at(open);
        if tail.starts_with('}') {
            return Err("stray '}'".into());
        }
        let close = tail.find('}').ok_or("unclosed '{'")?;
        let name = tail.get(1..close).unwrap_or("");
        if !lit.is_empty() {
            out.push(Part::Lit(lit.to_string()));
        }
        out.push(Part::Field(field(name)?));
        rest = tail.get(close + 1..).unwrap_or("");
    }
    if !rest.is_empty() {
        out.push(Part::Lit(rest.to_string()));
    }
    Ok(out)
}

/// Text or an attribute value's literal: character references must be
/// well formed, and what is re-emitted is escaped for a `"`-quoted value.
fn literal(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        let (before, tail) = rest.split_at(amp);
        push_escaped(&mut out, before);
        let end = tail.find(';').ok_or("'&' without ';'")?;
        let name = tail.get(1..end).unwrap_or("");
        let ok = match name.strip_prefix('#') {
            Some(n) => match n.strip_prefix(['x', 'X']) {
                Some(h) => (1..=6).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()),
                None => (1..=7).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()),
            },
            None => {
                (1..=10).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric())
            }
        };
        if !ok {
            return Err(format!("bad character reference &{};", short(name)));
        }
        out.push_str(tail.get(..=end).unwrap_or(""));
        rest = tail.get(end + 1..).unwrap_or("");
    }
    push_escaped(&mut out, rest);
    Ok(out)
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// A URL attribute: starts with `{url}` / `{image}` or a literal shop path
/// or http(s) URL; no character references, spaces or backslashes (they
/// are how `javascript:` hides); later placeholders only `{id}`.
fn url_value(parts: &[Part]) -> Result<(), String> {
    let bad = || {
        Err("href/src must start with {url}, {image}, a shop path or an http(s) URL".to_string())
    };
    match parts.first() {
        Some(Part::Field(Field::Url | Field::Image)) => {}
        Some(Part::Lit(l)) => {
            let lower = l.to_ascii_lowercase();
            let path = l.starts_with('/') && !l.starts_with("//") && !l.starts_with("/\\");
            if !(path || lower.starts_with("https://") || lower.starts_with("http://")) {
                return bad();
            }
        }
        _ => return bad(),
    }
    for (i, p) in parts.iter().enumerate() {
        match p {
            Part::Lit(l) => {
                if l.chars().any(|c| {
                    c.is_whitespace()
                        || c.is_control()
                        || matches!(c, '\\' | '&' | '"' | '\'' | '<' | '>' | '`')
                }) {
                    return Err("href/src may not hold spaces, '&', quotes or backslashes".into());
                }
            }
            Part::Field(Field::Id) => {}
            Part::Field(Field::Url | Field::Image) if i == 0 => {}
            Part::Field(_) => return bad(),
        }
    }
    Ok(())
}

/// At most 32 bytes of `s` for an error message, cut at a character boundary.
fn short(s: &str) -> &str {
    let mut end = s.len().min(32);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn name_len(s: &str) -> usize {
    s.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count()
}

/// Parses the whole template.
pub(super) fn template(src: &str) -> Result<Vec<Part>, String> {
    let mut out = Out { parts: Vec::new() };
    let mut open: Vec<String> = Vec::new();
    let mut tags = 0;
    let mut rest = src;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        let (text, tail) = rest.split_at(lt);
        text_run(&mut out, text)?;
        rest = tail;
        let Some(after) = rest.strip_prefix('<') else {
            break;
        };
        tags += 1;
        if tags > MAX_TAGS {
            return Err(format!("more than {MAX_TAGS} tags"));
        }
        if let Some(close) = after.strip_prefix('/') {
            let n = name_len(close);
            let name = close.get(..n).unwrap_or("").to_ascii_lowercase();
            let tail = close.get(n..).unwrap_or("").trim_start_matches(is_space);
            let Some(tail) = tail.strip_prefix('>') else {
                return Err("malformed end tag".into());
            };
            if open.pop().as_deref() != Some(name.as_str()) {
                return Err(format!("end tag </{name}> does not match"));
            }
            out.lit(&format!("</{name}>"));
            rest = tail;
            continue;
        }
        let n = name_len(after);
        let name = after.get(..n).unwrap_or("").to_ascii_lowercase();
        if !ELEMENTS.contains(&name.as_str()) {
            return Err(format!("element <{}> is not allowed", short(&name)));
        }
        out.lit(&format!("<{name}"));
        rest = attributes(&mut out, &name, after.get(n..).unwrap_or(""))?;
        out.lit(">");
        if !VOID.contains(&name.as_str()) {
            open.push(name);
            if open.len() > MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH}"));
            }
        }
    }
    if let Some(name) = open.last() {
        return Err(format!("<{name}> is not closed"));
    }
    Ok(out.parts)
}

fn text_run(out: &mut Out, text: &str) -> Result<(), String> {
    for p in pieces(text)? {
        match p {
            Part::Lit(l) => out.lit(&literal(&l)?),
            f => out.parts.push(f),
        }
    }
    Ok(())
}

/// The attributes of a start tag up to its `>`; returns what follows.
fn attributes<'a>(out: &mut Out, element: &str, mut s: &'a str) -> Result<&'a str, String> {
    let mut seen: Vec<String> = Vec::new();
    loop {
        let trimmed = s.trim_start_matches(is_space);
        let spaced = trimmed.len() < s.len();
        s = trimmed;
        if let Some(rest) = s.strip_prefix('>').or_else(|| s.strip_prefix("/>")) {
            return Ok(rest);
        }
        if !spaced {
            return Err(format!("malformed <{element}> tag"));
        }
        let n = name_len(s);
        let name = s.get(..n).unwrap_or("").to_ascii_lowercase();
        if n == 0 || !attr_allowed(element, &name) {
            return Err(format!(
                "attribute {:?} is not allowed on <{element}>",
                short(s.get(..n.max(1)).unwrap_or(""))
            ));
        }
        if seen.contains(&name) {
            return Err(format!("attribute {name} twice"));
        }
        s = s.get(n..).unwrap_or("").trim_start_matches(is_space);
        let Some(v) = s.strip_prefix('=') else {
            return Err(format!("attribute {name} needs a quoted value"));
        };
        let v = v.trim_start_matches(is_space);
        let quote = match v.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(format!("attribute {name}: the value must be quoted")),
        };
        let body = v.get(1..).unwrap_or("");
        let end = body
            .find(quote)
            .ok_or(format!("attribute {name}: unclosed quote"))?;
        let parts = pieces(body.get(..end).unwrap_or(""))?;
        if is_url_attr(element, &name) {
            url_value(&parts)?;
        }
        out.lit(&format!(" {name}=\""));
        for p in parts {
            match p {
                Part::Lit(l) => out.lit(&literal(&l)?),
                f => out.parts.push(f),
            }
        }
        out.lit("\"");
        seen.push(name);
        s = body.get(end + 1..).unwrap_or("");
    }
}
