//! Calico's selector language, parsed once and evaluated against label maps.
//! Grammar and meaning follow https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#selectors:
//! `all()`, `global()`, `k == 'v'`, `k != 'v'` (also true without `k`), `has(k)`, `k in {…}`,
//! `k not in {…}` (also true without `k`), `k contains 's'`, `k starts with 's'`,
//! `k ends with 's'`, `!`, `&&` (binds tighter than `||`), parentheses. An empty selector is `all()`.

use crate::labels::Labels;
use std::fmt;

/// A parsed selector expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Expr {
    All,
    Global,
    Has(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A Calico selector: its text as written and its parsed form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    text: String,
    expr: Expr,
}

/// A syntax error: the 1-based column (in characters) where the selector stops making sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("selector syntax error at column {column}: {message}")]
pub struct SelectorSyntaxError {
    /// 1-based column of the offending character (one past the end for a truncated selector).
    pub column: usize,
    /// What was expected there.
    pub message: String,
}

impl Selector {
    /// Parses a selector; the empty string (or only spaces) selects everything, like `all()`.
    pub fn parse(text: &str) -> Result<Selector, SelectorSyntaxError> {
        let chars: Vec<char> = text.chars().collect();
        let mut p = Parser { chars: &chars, pos: 0 };
        p.skip_spaces();
        let expr = if p.at_end() { Expr::All } else { p.or()? };
        p.skip_spaces();
        if !p.at_end() {
            return Err(p.error("expected &&, || or the end of the selector"));
        }
        Ok(Selector { text: text.to_string(), expr })
    }

    /// `all()`: every endpoint.
    pub fn all() -> Selector {
        Selector { text: "all()".into(), expr: Expr::All }
    }

    /// The selector as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the selector selects everything (`all()` or empty).
    pub fn is_all(&self) -> bool {
        self.expr == Expr::All
    }

    /// The label keys the selector reads, sorted: whether it matches depends on their values alone
    /// (and on `global()`), so endpoints that agree on them agree on the answer.
    pub fn keys(&self) -> Vec<&str> {
        fn collect<'e>(expr: &'e Expr, out: &mut Vec<&'e str>) {
            match expr {
                Expr::All | Expr::Global => {}
                Expr::Has(k)
                | Expr::Equals(k, _)
                | Expr::NotEquals(k, _)
                | Expr::In(k, _)
                | Expr::NotIn(k, _)
                | Expr::Contains(k, _)
                | Expr::StartsWith(k, _)
                | Expr::EndsWith(k, _) => out.push(k),
                Expr::Not(e) => collect(e, out),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    collect(a, out);
                    collect(b, out);
                }
            }
        }
        let mut out = Vec::new();
        collect(&self.expr, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether a namespaced endpoint with these labels matches. `global()` matches only
    /// non-namespaced endpoints (host endpoints, global network sets), so never a pod or namespace.
    pub fn matches(&self, labels: &Labels) -> bool {
        eval(&self.expr, labels, false)
    }

    /// Whether an endpoint matches, `global` telling whether it is non-namespaced (a
    /// GlobalNetworkSet): for it `global()` is true (and a namespaceSelector sees no labels).
    pub fn matches_endpoint(&self, labels: &Labels, global: bool) -> bool {
        eval(&self.expr, labels, global)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.text.trim().is_empty() { "all()" } else { &self.text })
    }
}

fn eval(expr: &Expr, labels: &Labels, global: bool) -> bool {
    let value = |k: &String| labels.get(k);
    match expr {
        Expr::All => true,
        Expr::Global => global,
        Expr::Has(k) => labels.contains_key(k),
        Expr::Equals(k, v) => value(k) == Some(v),
        Expr::NotEquals(k, v) => value(k) != Some(v),
        Expr::In(k, set) => value(k).is_some_and(|v| set.contains(v)),
        Expr::NotIn(k, set) => value(k).is_none_or(|v| !set.contains(v)),
        Expr::Contains(k, s) => value(k).is_some_and(|v| v.contains(s.as_str())),
        Expr::StartsWith(k, s) => value(k).is_some_and(|v| v.starts_with(s.as_str())),
        Expr::EndsWith(k, s) => value(k).is_some_and(|v| v.ends_with(s.as_str())),
        Expr::Not(e) => !eval(e, labels, global),
        Expr::And(a, b) => eval(a, labels, global) && eval(b, labels, global),
        Expr::Or(a, b) => eval(a, labels, global) || eval(b, labels, global),
    }
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

/// Characters of a label key (Kubernetes keys: prefix/name of alphanumerics, `-`, `_`, `.`).
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SelectorSyntaxError {
        SelectorSyntaxError { column: self.pos + 1, message: message.to_string() }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_spaces(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consumes `word` (after spaces) if it is next; words made of key characters must end there.
    fn eat(&mut self, word: &str) -> bool {
        self.skip_spaces();
        let w: Vec<char> = word.chars().collect();
        if self.chars[self.pos..].starts_with(&w) {
            let after = self.chars.get(self.pos + w.len()).copied();
            let wordlike = w.iter().all(|&c| is_key_char(c));
            if wordlike && after.is_some_and(is_key_char) {
                return false;
            }
            self.pos += w.len();
            return true;
        }
        false
    }

    fn expect(&mut self, word: &str) -> Result<(), SelectorSyntaxError> {
        if self.eat(word) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {word}")))
        }
    }

    fn or(&mut self) -> Result<Expr, SelectorSyntaxError> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SelectorSyntaxError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, SelectorSyntaxError> {
        self.skip_spaces();
        // `!` but not `!=` (which cannot start an operand anyway).
        if self.chars.get(self.pos) == Some(&'!') {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        if self.eat("all") {
            self.expect("(")?;
            self.expect(")")?;
            return Ok(Expr::All);
        }
        if self.eat("global") {
            self.expect("(")?;
            self.expect(")")?;
            return Ok(Expr::Global);
        }
        if self.eat("has") {
            self.expect("(")?;
            let key = self.key()?;
            self.expect(")")?;
            return Ok(Expr::Has(key));
        }
        let key = self.key()?;
        self.skip_spaces();
        if self.eat("==") {
            return Ok(Expr::Equals(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expr::NotEquals(key, self.string()?));
        }
        if self.eat("in") {
            return Ok(Expr::In(key, self.set()?));
        }
        if self.eat("not") {
            self.expect("in")?;
            return Ok(Expr::NotIn(key, self.set()?));
        }
        if self.eat("contains") {
            return Ok(Expr::Contains(key, self.string()?));
        }
        if self.eat("starts") {
            self.expect("with")?;
            return Ok(Expr::StartsWith(key, self.string()?));
        }
        if self.eat("ends") {
            self.expect("with")?;
            return Ok(Expr::EndsWith(key, self.string()?));
        }
        Err(self.error(&format!(
            "expected an operator after label {key:?}: ==, !=, in, not in, contains, starts with or ends with"
        )))
    }

    fn key(&mut self) -> Result<String, SelectorSyntaxError> {
        self.skip_spaces();
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|&c| is_key_char(c)) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a label key, all(), global(), has(…), ! or ("));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn string(&mut self) -> Result<String, SelectorSyntaxError> {
        self.skip_spaces();
        let quote = match self.chars.get(self.pos) {
            Some(&q @ ('\'' | '"')) => q,
            _ => return Err(self.error("expected a quoted value ('…' or \"…\")")),
        };
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|&c| c != quote) {
            self.pos += 1;
        }
        if self.at_end() {
            self.pos = open;
            return Err(self.error("unterminated string"));
        }
        let value = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        Ok(value)
    }

    fn set(&mut self) -> Result<Vec<String>, SelectorSyntaxError> {
        self.expect("{")?;
        let mut values = Vec::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.push(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            self.expect(",")?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn m(selector: &str, pairs: &[(&str, &str)]) -> bool {
        Selector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}")).matches(&labels(pairs))
    }

    #[test]
    fn every_operator_follows_calico() {
        let web = [("app", "web"), ("tier", "frontend-v2")];
        assert!(m("", &web) && m("all()", &web) && m("  ", &[]));
        assert!(!m("global()", &web));
        assert!(m("app == 'web'", &web) && !m("app == \"db\"", &web));
        assert!(m("app != 'db'", &web) && !m("app != 'web'", &web));
        assert!(m("missing != 'x'", &web), "!= is true without the label");
        assert!(m("has(tier)", &web) && !m("has(missing)", &web) && m("!has(missing)", &web));
        assert!(m("app in {'db', 'web'}", &web) && !m("app in {}", &web) && !m("missing in {'x'}", &web));
        assert!(m("app not in {'db'}", &web) && !m("app not in {'web'}", &web) && m("missing not in {'x'}", &web));
        assert!(m("tier contains 'end-v'", &web) && !m("missing contains ''", &web));
        assert!(m("tier starts with 'front'", &web) && !m("tier starts with 'end'", &web));
        assert!(m("tier ends with 'v2'", &web) && !m("tier ends with 'front'", &web));
        assert!(m("app == 'db' || app == 'web' && has(tier)", &web));
        assert!(!m("(app == 'db' || app == 'web') && has(x)", &web));
        assert!(m("!(app == 'db')", &web) && !m("!app == 'web'", &web));
        // && binds tighter than ||: a || (b && c).
        assert!(m("app == 'web' || has(x) && has(y)", &web));
        assert!(m("projectcalico.org/namespace == 'ns'", &[("projectcalico.org/namespace", "ns")]));
        assert!(!m("has(in)", &web), "a key may be spelled like an operator");
    }

    #[test]
    fn keys_are_every_label_the_selector_reads() {
        let s = Selector::parse("!(b == 'x') && (has(a) || c not in {'y'}) && all() && a starts with 'p'").unwrap();
        assert_eq!(s.keys(), vec!["a", "b", "c"]);
        assert!(Selector::parse("global()").unwrap().keys().is_empty());
    }

    #[test]
    fn syntax_errors_name_the_column() {
        let err = |s: &str| Selector::parse(s).unwrap_err();
        assert_eq!(err("app == web").column, 8);
        assert_eq!(err("app = 'web'").column, 5);
        assert_eq!(err("app == 'web' &&").column, 16);
        assert_eq!(err("(app == 'x'").column, 12);
        assert_eq!(err("app == 'x' app").column, 12);
        assert_eq!(err("app in {'a' 'b'}").column, 13);
        assert_eq!(err("app == 'open").column, 8);
        assert_eq!(err("has(app").column, 8);
        assert_eq!(err("all(").column, 5);
        assert!(err("app not 'x'").message.contains("in"));
    }
}
