//! Labels and label selectors, with the matching rules of `metav1.LabelSelector`.

use std::collections::BTreeMap;
use std::fmt;

/// Label keys to values, as in `metadata.labels`.
pub type Labels = BTreeMap<String, String>;

/// A `matchExpressions` operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// The key's value is one of `values`.
    In,
    /// The key is missing or its value is none of `values`.
    NotIn,
    /// The key is present.
    Exists,
    /// The key is missing.
    DoesNotExist,
}

impl Operator {
    /// The operator as Kubernetes spells it, if it is one.
    pub fn parse(s: &str) -> Option<Operator> {
        match s {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// How the key is tested.
    pub operator: Operator,
    /// The values `In`/`NotIn` compare with (empty for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

/// Why a `matchExpressions` entry is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// Not one of the four operators.
    #[error("unknown operator {0:?} (expected In, NotIn, Exists or DoesNotExist)")]
    UnknownOperator(String),
    /// `In`/`NotIn` with no value.
    #[error("operator {operator:?} on key {key:?} needs at least one value")]
    MissingValues {
        /// The requirement's key.
        key: String,
        /// The operator as written.
        operator: String,
    },
    /// `Exists`/`DoesNotExist` with values.
    #[error("operator {operator:?} on key {key:?} must not have values")]
    UnexpectedValues {
        /// The requirement's key.
        key: String,
        /// The operator as written.
        operator: String,
    },
    /// An empty key.
    #[error("empty label key")]
    EmptyKey,
}

impl Requirement {
    /// Builds a requirement, rejecting what the API server rejects.
    pub fn new(key: &str, operator: &str, values: Vec<String>) -> Result<Requirement, SelectorError> {
        if key.is_empty() {
            return Err(SelectorError::EmptyKey);
        }
        let op = Operator::parse(operator).ok_or_else(|| SelectorError::UnknownOperator(operator.to_string()))?;
        match op {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(SelectorError::MissingValues { key: key.into(), operator: operator.into() })
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(SelectorError::UnexpectedValues { key: key.into(), operator: operator.into() })
            }
            _ => {}
        }
        Ok(Requirement { key: key.to_string(), operator: op, values })
    }

    /// Whether these labels satisfy the requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            // NotIn matches objects without the key, as in Kubernetes.
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// `metav1.LabelSelector`: all of `match_labels` and all of `match_expressions` must hold.
/// The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSelector {
    /// `matchLabels`: every pair must be present.
    pub match_labels: Labels,
    /// `matchExpressions`: every requirement must hold.
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// The empty selector, which selects everything.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// A selector of `matchLabels` only.
    pub fn from_labels<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> LabelSelector {
        LabelSelector {
            match_labels: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            match_expressions: Vec::new(),
        }
    }

    /// Whether the selector is empty (selects everything).
    pub fn is_everything(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether these labels satisfy every part of the selector.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for LabelSelector {
    /// kubectl's selector syntax: `app=db,tier in (a,b),!legacy`; `{}` for the empty selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_everything() {
            return f.write_str("{}");
        }
        let mut parts: Vec<String> = self.match_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for r in &self.match_expressions {
            parts.push(match r.operator {
                Operator::In => format!("{} in ({})", r.key, r.values.join(",")),
                Operator::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                Operator::Exists => r.key.clone(),
                Operator::DoesNotExist => format!("!{}", r.key),
            });
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn operators_follow_kubernetes_semantics() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let req =
            |k: &str, op: &str, v: &[&str]| Requirement::new(k, op, v.iter().map(|s| s.to_string()).collect()).unwrap();
        assert!(req("app", "In", &["web", "db"]).matches(&l));
        assert!(!req("app", "In", &["db"]).matches(&l));
        assert!(!req("missing", "In", &["x"]).matches(&l));
        assert!(req("missing", "NotIn", &["x"]).matches(&l), "NotIn matches a missing key");
        assert!(!req("app", "NotIn", &["web"]).matches(&l));
        assert!(req("tier", "Exists", &[]).matches(&l));
        assert!(req("missing", "DoesNotExist", &[]).matches(&l));
        assert!(!req("app", "DoesNotExist", &[]).matches(&l));
    }

    #[test]
    fn invalid_requirements_are_rejected() {
        assert_eq!(Requirement::new("a", "Maybe", vec![]), Err(SelectorError::UnknownOperator("Maybe".into())));
        assert!(matches!(Requirement::new("a", "In", vec![]), Err(SelectorError::MissingValues { .. })));
        assert!(matches!(
            Requirement::new("a", "Exists", vec!["x".into()]),
            Err(SelectorError::UnexpectedValues { .. })
        ));
    }

    #[test]
    fn empty_selector_matches_everything_and_labels_are_anded() {
        assert!(LabelSelector::everything().matches(&Labels::new()));
        let s = LabelSelector::from_labels([("app", "web"), ("tier", "front")]);
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "front"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert_eq!(s.to_string(), "app=web,tier=front");
    }
}
