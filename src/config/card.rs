//! The shop's card template: its markup with `{field}` placeholders, checked
//! once when the config loads.

/// A placeholder of a card template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Title,
    Url,
    Image,
    Price,
    Category,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    Field(Field),
}

/// A card template from the config: markup with `{id}`, `{title}`, `{url}`,
/// `{image}`, `{price}`, `{category}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CardTemplate(pub(crate) Vec<Part>);

impl CardTemplate {
    pub fn parse(s: &str) -> Result<CardTemplate, String> {
        if s.len() > 4096 {
            return Err("longer than 4096 bytes".into());
        }
        if has_script(s) {
            return Err("no scripts, javascript: URLs or event handlers".into());
        }
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| "unclosed '{'".to_string())?
                + open;
            let field = match &rest[open + 1..close] {
                "id" => Field::Id,
                "title" => Field::Title,
                "url" => Field::Url,
                "image" => Field::Image,
                "price" => Field::Price,
                "category" => Field::Category,
                other => return Err(format!("unknown placeholder {{{other}}}")),
            };
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            parts.push(Part::Field(field));
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err("stray '}'".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(CardTemplate(parts))
    }
}

/// `<script`, `javascript:` or an `on…=` attribute anywhere (the template
/// is the shop's own markup; this keeps it from carrying script).
fn has_script(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if lower.contains("<script") || lower.contains("javascript:") {
        return true;
    }
    let b = lower.as_bytes();
    (1..b.len()).any(|i| {
        (b[i - 1].is_ascii_whitespace()
            || b[i - 1] == b'/'
            || b[i - 1] == b'"'
            || b[i - 1] == b'\'')
            && lower[i..].starts_with("on")
            && {
                let rest = &b[i + 2..];
                let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                n > 0 && rest[n..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'=')
            }
    })
}
