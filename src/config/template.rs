//! Value templates in config rules: literal text with `{var}` placeholders.

use std::fmt;

/// A request fact a template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Country,
    Region,
    Timezone,
    Continent,
    Device,
    Daypart,
    DayKind,
    Weekday,
    Season,
    Locale,
    Currency,
}

impl Var {
    const ALL: [(&'static str, Var); 11] = [
        ("country", Var::Country),
        ("region", Var::Region),
        ("timezone", Var::Timezone),
        ("continent", Var::Continent),
        ("device", Var::Device),
        ("daypart", Var::Daypart),
        ("day_kind", Var::DayKind),
        ("weekday", Var::Weekday),
        ("season", Var::Season),
        ("locale", Var::Locale),
        ("currency", Var::Currency),
    ];

    fn from_name(name: &str) -> Option<Var> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(Var),
}

/// A parsed template. `{{` and `}}` stand for literal braces.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Part>);

#[derive(Debug, PartialEq)]
pub struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        while let Some(i) = rest.find(['{', '}']) {
            // `{` and `}` are ASCII: every cut below is at a char boundary.
            let (before, tail) = rest.split_at(i);
            lit.push_str(before);
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                lit.push_str(tail.get(..1).unwrap_or(""));
                rest = after;
            } else if let Some(name) = tail.strip_prefix('{') {
                let (var_name, after) = name
                    .split_once('}')
                    .ok_or_else(|| TemplateError(format!("unclosed '{{' in {src:?}")))?;
                let var = Var::from_name(var_name).ok_or_else(|| {
                    TemplateError(format!("unknown variable {{{var_name}}} in {src:?}"))
                })?;
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Var(var));
                rest = after;
            } else {
                return Err(TemplateError(format!("stray '}}' in {src:?}")));
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template(parts))
    }

    /// Appends the expansion to `out`; `value` supplies each variable.
    pub fn render_into<'a>(&self, value: impl Fn(Var) -> &'a str, out: &mut String) {
        for part in &self.0 {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => out.push_str(value(*v)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str) -> String {
        let mut out = String::new();
        Template::parse(t).unwrap().render_into(
            |v| match v {
                Var::Country => "DE",
                Var::Daypart => "evening",
                _ => "?",
            },
            &mut out,
        );
        out
    }

    #[test]
    fn expands_vars_and_escaped_braces() {
        assert_eq!(render("Good {daypart} in {country}"), "Good evening in DE");
        assert_eq!(render("{{literal}} {country}"), "{literal} DE");
        assert_eq!(render("plain"), "plain");
        assert_eq!(render(""), "");
    }

    #[test]
    fn rejects_unknown_and_unbalanced() {
        assert!(Template::parse("{nope}").is_err());
        assert!(Template::parse("{country").is_err());
        assert!(Template::parse("a } b").is_err());
    }
}
