//! Segmentation invariants as assertions in your own `cargo test`.
//!
//! Load a folder of manifests once, then assert what must hold. Every assertion returns
//! `Result<(), Failure>`; a [`Failure`] prints (through `Display` and `Debug` alike, so
//! `.unwrap()`, `.expect()` and `?` show it) the invariant, how many pairs break it, the first
//! violating pairs and, for each, the policy rules that allow it. Selectors are those of
//! `netreach paths`: `ns/pod`, `ns/Kind/name`, `ns:NAME`, label selectors (`app=db,tier!=web`),
//! `internet`, `any`, an IP or a CIDR. Ports are `PORT/PROTO` (`5432/TCP`, `53/UDP`,
//! `9092-9094/TCP`).
//!
//! ```
//! use netreach::testing::{Cluster, Isolation};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = Cluster::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/shop"))?;
//!
//! cluster.denies("ns:data", "ns:shop")?;
//! cluster.allows("shop/frontend", "shop/cart", &["7070/TCP"])?;
//! cluster.allows_only("app=postgres", "app in (catalog,nightly-report)", &["5432/TCP"])?;
//! cluster.isolated(&["shop", "payments", "data"], Isolation::Both)?;
//! cluster.max_reach("app=frontend", 2, 15)?;
//!
//! // A failure lists the violating pairs and the rules that allow them.
//! let failure = cluster.denies("shop/checkout", "ns:payments").unwrap_err();
//! assert!(failure.to_string().contains("shop/checkout-1 -> payments/payment-gateway-1: TCP 8443"));
//! assert!(failure.to_string().contains("egress: shop/checkout egress[2]"));
//! # Ok(())
//! # }
//! ```
//!
//! Every kind of the invariants file is available through [`Cluster::check_yaml`], e.g.
//! `cluster.check_yaml("deny: {from: internet, to: any, except: {to: shop/frontend}}")`, and a
//! whole file through [`Cluster::check_file`]; `mtls` uses the mesh analysis, as `netreach check`
//! does. An invariant that cannot be evaluated is a failure here: a test cannot pass on what was
//! not checked.

use crate::analysis::Analysis;
use crate::invariants::{
    self, render::evaluation_lines, Check, Checker, Evaluation, Invariant, Report, Selection, Status,
};
use crate::load::{self, Input, LoadError};
use netreach_model::{EngineOptions, PortSet};
use std::fmt;
use std::path::Path;

/// Which directions [`Cluster::isolated`] requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    Ingress,
    Egress,
    Both,
}

/// A loaded cluster with its reachability, ready for assertions.
pub struct Cluster {
    analysis: Analysis,
    limit: usize,
}

/// Why an assertion does not hold: the invariant broke (with the evaluation), it could not be
/// evaluated, or it was not valid for this cluster (a bad selector or port, a name that matches
/// nothing).
pub struct Failure {
    message: String,
    /// The evaluations that did not pass (empty for an invalid invariant).
    pub evaluations: Vec<Evaluation>,
}

impl Failure {
    fn invalid(message: String) -> Failure {
        Failure { message: format!("invalid invariant: {message}"), evaluations: Vec::new() }
    }

    fn from_evaluations(evaluations: Vec<Evaluation>) -> Failure {
        let mut message = String::new();
        for (i, e) in evaluations.iter().enumerate() {
            if i > 0 {
                message.push('\n');
            }
            let what = if e.failed() { "failed" } else { "could not be evaluated" };
            // Assertions are named by their statement, which the first line repeats anyway.
            if e.name == e.statement {
                message.push_str(&format!("invariant {what}:"));
            } else {
                message.push_str(&format!("invariant {:?} {what}:", e.name));
            }
            for line in evaluation_lines(e) {
                message.push_str("\n  ");
                message.push_str(&line);
            }
        }
        Failure { message, evaluations }
    }

    /// True when the invariant itself was invalid (nothing was evaluated).
    pub fn is_invalid(&self) -> bool {
        self.evaluations.is_empty()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The same text as `Display`, so `unwrap()` and a `main` returning `Result` print it readably.
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn selection(text: &str, field: &str) -> Result<Selection, Failure> {
    Selection::parse(text).map_err(|e| Failure::invalid(format!("{field} {text:?}: {e}")))
}

fn ports(list: &[&str]) -> Result<Option<PortSet>, Failure> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut set = PortSet::empty();
    for p in list {
        set.union_with(
            &invariants::parse_ports(p).ok_or_else(|| Failure::invalid(format!("{p:?} is not PORT/PROTO")))?,
        );
    }
    Ok(Some(set))
}

impl Cluster {
    /// Loads a file or a folder of manifests (read recursively, as `netreach` reads a PATH),
    /// with the default engine options.
    pub fn load(path: impl AsRef<Path>) -> Result<Cluster, LoadError> {
        Cluster::load_with(&[path], &EngineOptions::default())
    }

    /// Loads several files or folders as one cluster, with the given engine options.
    pub fn load_with<P: AsRef<Path>>(paths: &[P], options: &EngineOptions) -> Result<Cluster, LoadError> {
        let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.as_ref().to_path_buf())).collect();
        let loaded = load::load(&inputs)?;
        Ok(Cluster::from_analysis(Analysis::new(loaded.cluster, options)))
    }

    /// A cluster from manifest text (multi-document YAML or JSON), for self-contained tests.
    pub fn from_manifests(text: &str) -> Result<Cluster, LoadError> {
        let loaded = load::load_str("<manifests>", text)?;
        Ok(Cluster::from_analysis(Analysis::new(loaded.cluster, &EngineOptions::default())))
    }

    pub fn from_analysis(analysis: Analysis) -> Cluster {
        Cluster { analysis, limit: 10 }
    }

    /// How many violations a failure lists (all are counted); 10 by default.
    pub fn with_limit(mut self, limit: usize) -> Cluster {
        self.limit = limit;
        self
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// Evaluates an invariant: `Ok` only when it passes.
    pub fn check(&self, invariant: &Invariant) -> Result<(), Failure> {
        let eval = Checker::new(&self.analysis)
            .with_limit(self.limit)
            .evaluate(invariant)
            .map_err(|e| Failure::invalid(format!("{:?}: {e}", invariant.name)))?;
        match eval.status {
            Status::Pass => Ok(()),
            _ => Err(Failure::from_evaluations(vec![eval])),
        }
    }

    /// Evaluates one invariant written as in the invariants file (the `name` may be left out):
    /// `deny: {from: internet, to: any, except: {to: "shop/frontend"}}`.
    pub fn check_yaml(&self, text: &str) -> Result<(), Failure> {
        self.check(&Invariant::from_yaml(text).map_err(|e| Failure::invalid(e.to_string()))?)
    }

    /// Evaluates every invariant of a file; the failure lists every invariant that did not
    /// pass. Returns the report when all passed.
    pub fn check_file(&self, path: impl AsRef<Path>) -> Result<Report, Failure> {
        let path = path.as_ref();
        let list = invariants::parse_file(path).map_err(|e| Failure::invalid(e.to_string()))?;
        let report = invariants::check(&self.analysis, &path.display().to_string(), &list, self.limit)
            .map_err(|e| Failure::invalid(e.to_string()))?;
        let bad: Vec<Evaluation> = report.evaluations.iter().filter(|e| !e.passed()).cloned().collect();
        if bad.is_empty() {
            Ok(report)
        } else {
            Err(Failure::from_evaluations(bad))
        }
    }

    fn run(&self, check: Check) -> Result<(), Failure> {
        self.check(&Invariant { name: check.to_string(), description: None, check })
    }

    /// Nothing in `from` can connect to anything in `to`, on any port.
    pub fn denies(&self, from: &str, to: &str) -> Result<(), Failure> {
        self.run(Check::Deny { from: selection(from, "from")?, to: selection(to, "to")?, except: None, ports: None })
    }

    /// Nothing in `from` can connect to anything in `to` on any of `ports`.
    pub fn denies_on(&self, from: &str, to: &str, ports_: &[&str]) -> Result<(), Failure> {
        let ports = ports(ports_)?;
        if ports.is_none() {
            return Err(Failure::invalid("denies_on needs at least one port (denies covers every port)".into()));
        }
        self.run(Check::Deny { from: selection(from, "from")?, to: selection(to, "to")?, except: None, ports })
    }

    /// Every endpoint of `from` can connect to every endpoint of `to` on all of `ports` (on some
    /// port when `ports` is empty).
    pub fn allows(&self, from: &str, to: &str, ports_: &[&str]) -> Result<(), Failure> {
        self.run(Check::Allow { from: selection(from, "from")?, to: selection(to, "to")?, ports: ports(ports_)? })
    }

    /// Into `to`, only `from` can connect, and only on `ports` (any port when empty).
    pub fn allows_only(&self, to: &str, from: &str, ports_: &[&str]) -> Result<(), Failure> {
        self.run(Check::AllowOnly {
            to: selection(to, "to")?,
            from: Some(selection(from, "from")?),
            ports: ports(ports_)?,
        })
    }

    /// Every pod of these namespaces (`["*"]`: of every namespace) is selected by some
    /// NetworkPolicy in the given direction(s).
    pub fn isolated(&self, namespaces: &[&str], direction: Isolation) -> Result<(), Failure> {
        let namespaces =
            if namespaces.contains(&"*") { None } else { Some(namespaces.iter().map(|s| s.to_string()).collect()) };
        let (ingress, egress) = match direction {
            Isolation::Ingress => (true, false),
            Isolation::Egress => (false, true),
            Isolation::Both => (true, true),
        };
        self.run(Check::Isolated { namespaces, except: Vec::new(), ingress, egress })
    }

    /// An attacker holding any one endpoint of `from` reaches at most `at_most` pods within
    /// `hops` hops (node-local hops included, as `netreach paths` counts them).
    pub fn max_reach(&self, from: &str, hops: u32, at_most: u64) -> Result<(), Failure> {
        if hops == 0 {
            return Err(Failure::invalid("hops must be at least 1".into()));
        }
        self.run(Check::MaxReach { from: selection(from, "from")?, hops, at_most, node_hops: true })
    }
}
