//! The shop's card template: its markup with `{field}` placeholders, parsed
//! once when the config loads as a strict subset of HTML: an allow-list of
//! elements and attributes, every attribute value quoted, placeholders only
//! in attribute values and text, tags balanced. What renders is the
//! template re-serialized from the parse, never its raw text.

mod parse;

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

/// Longest template accepted.
pub const MAX_TEMPLATE_BYTES: usize = 4096;

impl CardTemplate {
    pub fn parse(s: &str) -> Result<CardTemplate, String> {
        if s.len() > MAX_TEMPLATE_BYTES {
            return Err(format!("longer than {MAX_TEMPLATE_BYTES} bytes"));
        }
        parse::template(s).map(CardTemplate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(t: &CardTemplate) -> String {
        t.0.iter()
            .map(|p| match p {
                Part::Lit(s) => s.clone(),
                Part::Field(f) => format!("{{{f:?}}}"),
            })
            .collect()
    }

    #[test]
    fn canonical_markup() {
        let t = CardTemplate::parse(
            "<LI class='a \"b\"' data-x=\"{id}\"><a href=\"{url}?ref=rec\">{title} &amp; more</a><br/><img src='{image}' alt=\"\"></li>",
        )
        .unwrap();
        assert_eq!(
            lits(&t),
            "<li class=\"a &quot;b&quot;\" data-x=\"{Id}\"><a href=\"{Url}?ref=rec\">{Title} &amp; more</a><br><img src=\"{Image}\" alt=\"\"></li>"
        );
        let t = CardTemplate::parse("<p><a href=\"/p/{id}\">{price}</a></p>").unwrap();
        assert_eq!(lits(&t), "<p><a href=\"/p/{Id}\">{Price}</a></p>");
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "{nope}",
            "{title",
            "a}",
            "<script>{title}",
            "<a onclick=x>{title}</a>",
            "<a onclick=\"x\">{title}</a>",
            "<p>{title}",
            "</p>",
            "<p></div>",
            "<p class=\"{title}\"",
            "<p {title}>",
            "<{title}>",
            "<p cl{id}ass=\"x\">",
            "<a href=\"https://x.test/&#x61;\">",
            "<a href=\"//evil.test\">x</a>",
            "<a href=\"/\\evil.test\">x</a>",
            "<a href=\"data:text/html,x\">x</a>",
            "<a href=\"{price}\">x</a>",
            "<a href=\"/a b\">x</a>",
            "<img src=\"x\" srcset=\"x\">",
            "<p>&bogus</p>",
            "<!DOCTYPE html>",
            "<p><![CDATA[x]]></p>",
            "<p class=\"a\" class=\"b\">x</p>",
            "<style>p{}</style>",
            "<textarea>{title}</textarea>",
            "<title>{title}</title>",
            "<form action=\"/x\"></form>",
            "<svg></svg>",
            "<math></math>",
            "<p hidden>x</p>",
            "<p\tonclick=\"x\">x</p>",
        ] {
            assert!(CardTemplate::parse(bad).is_err(), "accepted: {bad}");
        }
        assert!(CardTemplate::parse(&"<b>x</b>".repeat(600)).is_err());
    }
}
