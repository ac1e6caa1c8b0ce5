//! JSON written as a stream: arrays whose elements are written one at a time, each on its own
//! line, so large answers are never built as one value.

use std::io::{self, Write};

/// The separators of a JSON array written element by element; the caller writes `[`, each
/// element after [`JsonArray::element`], and the closing `]` (knowing [`JsonArray::is_empty`]).
pub struct JsonArray {
    indent: &'static str,
    first: bool,
}

impl JsonArray {
    /// An array whose elements go on their own lines, indented by `indent`.
    pub fn new(indent: &'static str) -> JsonArray {
        JsonArray { indent, first: true }
    }

    /// Starts the next element: `,` after the previous one, then a line break and the indent.
    pub fn element(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.first {
            out.write_all(b",")?;
        }
        self.first = false;
        write!(out, "\n{}", self.indent)
    }

    /// Whether no element was started.
    pub fn is_empty(&self) -> bool {
        self.first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_separated_by_commas_on_their_own_lines() {
        let mut out = Vec::new();
        let mut array = JsonArray::new("  ");
        assert!(array.is_empty());
        for n in [1, 2] {
            array.element(&mut out).unwrap();
            write!(out, "{n}").unwrap();
        }
        assert!(!array.is_empty());
        assert_eq!(String::from_utf8(out).unwrap(), "\n  1,\n  2");
    }
}
