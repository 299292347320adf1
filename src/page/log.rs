//! Structured log lines: one JSON line per fault or exposure; details are
//! cut to a short excerpt so a corrupt input never floods the log.

use serde::Serialize;

const MAX_DETAIL: usize = 240;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Log {
    /// `console.error` rather than `console.log`.
    pub error: bool,
    pub line: String,
}

/// `{"level":"error","event":..,"detail":..,"path":..}`.
pub fn error(event: &str, detail: &str, path: &str) -> Log {
    let line = serde_json::json!({
        "level": "error",
        "event": event,
        "detail": excerpt(detail, MAX_DETAIL),
        "path": excerpt(path, MAX_DETAIL),
    });
    Log {
        error: true,
        line: line.to_string(),
    }
}

/// `{"level":"info","event":"prices","found":..,"converted":..,..,"path":..}`.
pub fn prices(c: &crate::rewrite::prices::Counts, path: &str) -> Log {
    let mut line = serde_json::json!({"level": "info", "event": "prices"});
    if let (Some(obj), Ok(serde_json::Value::Object(counts))) =
        (line.as_object_mut(), serde_json::to_value(c))
    {
        obj.extend(counts);
        obj.insert("path".into(), excerpt(path, MAX_DETAIL).into());
    }
    info(line.to_string())
}

pub fn info(line: String) -> Log {
    Log { error: false, line }
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn excerpt(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_bounded() {
        let big = "é".repeat(1 << 20);
        let l = error("kv_value_unparsable", &big, "/p");
        assert!(l.line.len() < 600, "{}", l.line.len());
        assert!(l.error);
    }
}
