//! The segment notation shared by the memory, the catalogs and the worker:
//! normalized text with numbered placeholders — `<g1>…</g1>` for a paired
//! inline element, `<x2/>` for a standalone one (`<br>`), `<n3/>` for a number
//! or price — and `&amp;` `&lt;` `&gt;` for the literal characters. The memory
//! key is a hash of a source segment's notation.

pub use super::entities::decode_entities;
use std::fmt::Write as _;

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Paired inline element (`g`).
    Pair,
    /// Standalone inline element (`x`).
    Single,
    /// Number or price (`n`).
    Number,
}

impl Kind {
    pub fn letter(self) -> char {
        match self {
            Kind::Pair => 'g',
            Kind::Single => 'x',
            Kind::Number => 'n',
        }
    }
}

/// A parsed notation token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Text(String),
    Open(u16),
    Close(u16),
    Single(u16),
    Number(u16),
}

/// Input to [`build`]: what the segmenter saw, in order. Tags carry the
/// origin's bytes, returned in [`Source::parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Decoded text (entities already resolved).
    Text(&'a str),
    Open(&'a [u8]),
    Close(&'a [u8]),
    Single(&'a [u8]),
}

/// What one placeholder restores: the origin's start (or only) tag and end
/// tag bytes, or the number's text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Part {
    pub open: Vec<u8>,
    pub close: Vec<u8>,
}

/// A source segment in notation, with what its placeholders stand for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    pub notation: String,
    /// Kind of placeholder `i + 1`.
    pub kinds: Vec<Kind>,
    /// What placeholder `i + 1` restores (numbers: their text in `open`).
    pub parts: Vec<Part>,
    /// Has a letter outside placeholders (else not worth translating).
    pub has_letters: bool,
}

impl Source {
    pub fn key(&self) -> String {
        key(&self.notation)
    }
}

/// 64-bit FNV-1a of the notation, 16 hex digits.
pub fn key(notation: &str) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in notation.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Builds a [`Source`] from pieces: collapses whitespace runs (ASCII
/// whitespace only; NBSP stays a distinct character), trims both ends and
/// turns numbers into placeholders.
pub fn build(pieces: &[Piece]) -> Option<Source> {
    let mut out: Vec<Tok> = Vec::new();
    let mut kinds = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut stack: Vec<u16> = Vec::new();
    let mut space = true; // as if preceded by a space: trims the start
    let mut has_letters = false;
    let next = |kinds: &mut Vec<Kind>, k: Kind| -> Option<u16> {
        kinds.push(k);
        u16::try_from(kinds.len()).ok()
    };
    for p in pieces {
        match p {
            Piece::Open(raw) => {
                let n = next(&mut kinds, Kind::Pair)?;
                parts.push(Part {
                    open: raw.to_vec(),
                    close: Vec::new(),
                });
                stack.push(n);
                out.push(Tok::Open(n));
            }
            Piece::Close(raw) => {
                let n = stack.pop()?;
                parts.get_mut(usize::from(n) - 1)?.close = raw.to_vec();
                out.push(Tok::Close(n));
            }
            Piece::Single(raw) => {
                out.push(Tok::Single(next(&mut kinds, Kind::Single)?));
                parts.push(Part {
                    open: raw.to_vec(),
                    close: Vec::new(),
                });
            }
            Piece::Text(t) => {
                let mut text = String::with_capacity(t.len());
                let mut rest: &str = t;
                while !rest.is_empty() {
                    if let Some((pre, num, post)) = split_number(rest) {
                        push_text(&mut text, pre, &mut space, &mut has_letters);
                        if !text.is_empty() {
                            out.push(Tok::Text(std::mem::take(&mut text)));
                        }
                        let n = next(&mut kinds, Kind::Number)?;
                        parts.push(Part {
                            open: num.as_bytes().to_vec(),
                            close: Vec::new(),
                        });
                        out.push(Tok::Number(n));
                        space = false;
                        rest = post;
                    } else {
                        push_text(&mut text, rest, &mut space, &mut has_letters);
                        rest = "";
                    }
                }
                if !text.is_empty() {
                    out.push(Tok::Text(text));
                }
            }
        }
    }
    if !stack.is_empty() {
        return None;
    }
    // Trim the end: a trailing space may sit before closing tags.
    if let Some(Tok::Text(t)) = out.iter_mut().rev().find(|t| !matches!(t, Tok::Close(_))) {
        if t.ends_with(' ') {
            t.pop();
        }
    }
    Some(Source {
        notation: render(&out),
        kinds,
        parts,
        has_letters,
    })
}

fn push_text(out: &mut String, s: &str, space: &mut bool, letters: &mut bool) {
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
            if !*space {
                out.push(' ');
                *space = true;
            }
        } else {
            *letters |= c.is_alphabetic();
            out.push(c);
            *space = false;
        }
    }
}

const CURRENCY: &[char] = &[
    '$', '£', '€', '¥', '₹', '₽', '₩', '¢', '₺', '₪', '₫', '฿', '₴',
];

/// Finds the first number (digits with `.`, `,`, `'`, NBSP or narrow NBSP
/// between digit groups, with a currency sign glued to either side) that is
/// not part of a word. Returns (before, number, after).
fn split_number(s: &str) -> Option<(&str, &str, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let mut start = i;
        let mut end = i;
        // Extend over digit groups.
        loop {
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            let sep = s.get(end..).and_then(|r| r.chars().next());
            match sep {
                Some(c @ ('.' | ',' | '\'' | '\u{a0}' | '\u{202f}'))
                    if b.get(end + c.len_utf8()).is_some_and(u8::is_ascii_digit) =>
                {
                    end += c.len_utf8();
                }
                _ => break,
            }
        }
        let before = s.get(..start).and_then(|p| p.chars().next_back());
        if let Some(c) = before.filter(|c| CURRENCY.contains(c)) {
            start -= c.len_utf8();
        }
        let after = s.get(end..).and_then(|r| r.chars().next());
        if let Some(c) = after.filter(|c| CURRENCY.contains(c)) {
            end += c.len_utf8();
        }
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let prev = s.get(..start).and_then(|p| p.chars().next_back());
        let next = s.get(end..).and_then(|r| r.chars().next());
        if glued(prev) || glued(next) {
            // Part of a word (MP3, B07FW264WL): skip the whole run.
            i = end.max(i + 1);
            while i < b.len() && !s.is_char_boundary(i) {
                i += 1;
            }
            continue;
        }
        return Some((s.get(..start)?, s.get(start..end)?, s.get(end..)?));
    }
    None
}

/// Writes tokens as notation.
pub fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Text(x) => escape_into(&mut s, x),
            Tok::Open(n) => {
                let _ = write!(s, "<g{n}>");
            }
            Tok::Close(n) => {
                let _ = write!(s, "</g{n}>");
            }
            Tok::Single(n) => {
                let _ = write!(s, "<x{n}/>");
            }
            Tok::Number(n) => {
                let _ = write!(s, "<n{n}/>");
            }
        }
    }
    s
}

fn escape_into(s: &mut String, x: &str) {
    for c in x.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            c => s.push(c),
        }
    }
}

/// Parses notation. `&amp;`, `&lt;`, `&gt;` are unescaped; any other `&` is
/// literal. `None` on a `<` that is not a placeholder.
pub fn parse(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>')?;
            let tag = rest.get(1..end)?;
            let tok = parse_tag(tag)?;
            if !text.is_empty() {
                out.push(Tok::Text(std::mem::take(&mut text)));
            }
            out.push(tok);
            rest = rest.get(end + 1..)?;
        } else if c == '&' {
            let (ch, len) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
                .iter()
                .find(|(e, _)| rest.starts_with(e))
                .map_or(('&', 1), |(e, ch)| (*ch, e.len()));
            text.push(ch);
            rest = rest.get(len..)?;
        } else {
            text.push(c);
            rest = rest.get(c.len_utf8()..)?;
        }
    }
    if !text.is_empty() {
        out.push(Tok::Text(text));
    }
    Some(out)
}

fn parse_tag(tag: &str) -> Option<Tok> {
    let num = |d: &str| -> Option<u16> {
        (!d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit()))
            .then(|| d.parse().ok())
            .flatten()
            .filter(|n| *n > 0)
    };
    if let Some(d) = tag.strip_prefix("/g") {
        return Some(Tok::Close(num(d)?));
    }
    if let Some(d) = tag.strip_suffix('/') {
        if let Some(d) = d.strip_prefix('x') {
            return Some(Tok::Single(num(d)?));
        }
        return Some(Tok::Number(num(d.strip_prefix('n')?)?));
    }
    Some(Tok::Open(num(tag.strip_prefix('g')?)?))
}

/// Checks a target against its source's placeholder kinds: every
/// placeholder exactly once, of the right kind, pairs properly nested.
pub fn validate(target: &[Tok], kinds: &[Kind]) -> Result<(), String> {
    let mut seen = vec![false; kinds.len()];
    let mut stack = Vec::new();
    let mark = |n: u16, k: Kind, seen: &mut Vec<bool>| -> Result<(), String> {
        let i = usize::from(n).wrapping_sub(1);
        match kinds.get(i) {
            Some(&want) if want == k => {}
            _ => {
                return Err(format!(
                    "placeholder {}{n} is not in the source",
                    k.letter()
                ))
            }
        }
        // `i` is in range: `kinds.get(i)` matched and `seen` has its length.
        if seen.get_mut(i).is_some_and(|s| std::mem::replace(s, true)) {
            return Err(format!("placeholder {}{n} is used twice", k.letter()));
        }
        Ok(())
    };
    for t in target {
        match t {
            Tok::Text(_) => {}
            Tok::Open(n) => {
                mark(*n, Kind::Pair, &mut seen)?;
                stack.push(*n);
            }
            Tok::Close(n) => {
                if stack.pop() != Some(*n) {
                    return Err(format!("</g{n}> closes nothing open"));
                }
            }
            Tok::Single(n) => mark(*n, Kind::Single, &mut seen)?,
            Tok::Number(n) => mark(*n, Kind::Number, &mut seen)?,
        }
    }
    if let Some(n) = stack.pop() {
        return Err(format!("<g{n}> is not closed"));
    }
    match seen.iter().zip(kinds).position(|(s, _)| !s) {
        Some(i) => Err(format!(
            "placeholder {}{} is missing",
            kinds.get(i).map_or('?', |k| k.letter()),
            i + 1
        )),
        None => Ok(()),
    }
}

/// The placeholder kinds a source notation uses, in number order.
pub fn kinds_of(toks: &[Tok]) -> Option<Vec<Kind>> {
    let mut kinds: Vec<(u16, Kind)> = Vec::new();
    for t in toks {
        match t {
            Tok::Open(n) => kinds.push((*n, Kind::Pair)),
            Tok::Single(n) => kinds.push((*n, Kind::Single)),
            Tok::Number(n) => kinds.push((*n, Kind::Number)),
            Tok::Text(_) | Tok::Close(_) => {}
        }
    }
    kinds.sort_by_key(|k| k.0);
    let ok = kinds
        .iter()
        .enumerate()
        .all(|(i, (n, _))| usize::from(*n) == i + 1);
    ok.then(|| kinds.into_iter().map(|k| k.1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(pieces: &[Piece]) -> Source {
        build(pieces).expect("builds")
    }

    #[test]
    fn whitespace_and_placeholders() {
        let s = src(&[
            Piece::Text("\n  Only "),
            Piece::Open(b"<b>"),
            Piece::Text(" 35,374 "),
            Piece::Close(b"</b>"),
            Piece::Text(" sold\u{a0}so  far"),
            Piece::Single(b"<br>"),
            Piece::Text("at £12.99! "),
        ]);
        assert_eq!(
            s.notation,
            "Only <g1><n2/> </g1>sold\u{a0}so far<x3/>at <n4/>!"
        );
        assert_eq!(
            s.kinds,
            [Kind::Pair, Kind::Number, Kind::Single, Kind::Number]
        );
        let p: Vec<(&[u8], &[u8])> = s
            .parts
            .iter()
            .map(|p| (&p.open[..], &p.close[..]))
            .collect();
        let want: [(&[u8], &[u8]); 4] = [
            (b"<b>", b"</b>"),
            (b"35,374", b""),
            (b"<br>", b""),
            ("£12.99".as_bytes(), b""),
        ];
        assert_eq!(p, want);
        let other = src(&[Piece::Text("12 sold so far")]);
        let same = src(&[Piece::Text("35,374 sold  so far ")]);
        assert_eq!(other.key(), same.key());
        assert!(s.has_letters);
        assert!(!src(&[Piece::Text(" 12 € ")]).has_letters);
    }

    #[test]
    fn words_with_digits_stay_text() {
        let s = src(&[Piece::Text("MP3 player B07FW264WL, 2 pcs, 4K")]);
        assert_eq!(s.notation, "MP3 player B07FW264WL, <n1/> pcs, 4K");
        let s = src(&[Piece::Text("a < b & c > d")]);
        assert_eq!(s.notation, "a &lt; b &amp; c &gt; d");
        assert_eq!(
            parse(&s.notation).unwrap(),
            [Tok::Text("a < b & c > d".into())]
        );
    }

    #[test]
    fn parse_and_validate() {
        let kinds = [Kind::Pair, Kind::Single, Kind::Number];
        let ok = parse("<n3/> <x2/>vor <g1>Hallo</g1> & Co").unwrap();
        assert_eq!(validate(&ok, &kinds), Ok(()));
        for bad in [
            "<g1>Hallo</g1> <x2/>",
            "<g1>Hallo</g1> <x2/><n3/><n3/>",
            "<g1>Hallo <x2/><n3/>",
            "Hallo</g1><g1> <x2/><n3/>",
            "<x1/> <x2/><n3/>",
            "<g1>a</g1><x2/><n3/><n4/>",
        ] {
            let t = parse(bad).unwrap();
            assert!(validate(&t, &kinds).is_err(), "{bad}");
        }
        assert!(parse("a <b>x</b>").is_none());
        assert!(parse("a <g0>x</g0>").is_none());
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("Caf&eacute; &amp; Bar&nbsp;&#8364;&#x41; AT&T & co").as_deref(),
            Some("Café & Bar\u{a0}€A AT&T & co")
        );
        assert_eq!(decode_entities("&unknownthing;"), None);
        assert_eq!(decode_entities("&amp no semicolon here at all"), None);
    }
}
