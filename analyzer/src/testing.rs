//! Segmentation invariants as assertions in your own `cargo test`.
//!
//! Load a folder of manifests once into a [`Segmentation`], then assert what must hold. Every
//! assertion takes the source first, then the destination, and returns `Result<(), Failure>`;
//! a [`Failure`] prints (through `Display` and `Debug` alike, so `.unwrap()`, `.expect()` and
//! `?` show it) the invariant, how many pairs break it, the first violating pairs and, for each,
//! the policy rules that allow it. Selectors are those of `netreach paths`: `ns/pod`,
//! `ns/Kind/name`, `ns:NAME`, label selectors (`app=db,tier!=web`), `internet`, `any`, an IP or
//! a CIDR. Ports are `PORT/PROTO` (`5432/TCP`, `53/UDP`, `9092-9094/TCP`).
//!
//! Each pair assertion comes twice: without ports it means what it says on any port (`denies`:
//! on none, `allows`: on at least one, `allows_only`: whatever the port), and its `_on` twin
//! takes a non-empty list of ports.
//!
//! ```
//! use netreach::testing::{Isolation, Segmentation};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let shop = Segmentation::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/shop"))?;
//!
//! shop.denies("ns:data", "ns:shop")?;
//! shop.allows_on("shop/frontend", "shop/cart", &["7070/TCP"])?;
//! shop.allows_only_on("app in (catalog,nightly-report)", "app=postgres", &["5432/TCP"])?;
//! shop.isolated(&["shop", "payments", "data"], Isolation::Both)?;
//! shop.max_reach("app=frontend", 2, 15)?;
//!
//! // A failure lists the violating pairs and the rules that allow them.
//! let failure = shop.denies("shop/checkout", "ns:payments").unwrap_err();
//! assert!(failure.to_string().contains("shop/checkout-1 -> payments/payment-gateway-1: TCP 8443"));
//! assert!(failure.to_string().contains("egress: shop/checkout egress[2]"));
//! # Ok(())
//! # }
//! ```
//!
//! Every kind of the invariants file is available through [`Segmentation::check_yaml`], e.g.
//! `shop.check_yaml("deny: {from: internet, to: any, except: {to: shop/frontend}}")`, and a whole
//! file through [`Segmentation::check_file`]; [`Segmentation::mtls`] uses the mesh analysis, as
//! `netreach check` does. An invariant that cannot be evaluated is a failure here: a test cannot
//! pass on what was not checked.

use crate::analysis::Analysis;
use crate::invariants::{
    self, render::evaluation_lines, Assertion, Checker, Evaluation, Invariant, Report, Selection, Status,
};
use crate::load::{self, Input, LoadError};
use netreach_model::{EngineOptions, PortSet};
use std::fmt;
use std::path::Path;

/// Which directions [`Segmentation::isolated`] requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    Ingress,
    Egress,
    Both,
}

/// A loaded cluster with its reachability (and mesh analysis), ready for assertions. Named for
/// what the assertions are about, and apart from [`crate::model::Cluster`], the manifests it
/// was loaded from.
pub struct Segmentation {
    analysis: Analysis,
    limit: usize,
}

/// Why an assertion does not hold.
pub enum Failure {
    /// The invariant is not valid for this cluster: a bad selector or port, a name that matches
    /// nothing, a missing port list. Nothing was evaluated.
    Invalid(String),
    /// The invariant was evaluated and did not pass: the evaluations that failed or could not
    /// be evaluated (one for an assertion, each such invariant for a file).
    Broken(Vec<Evaluation>),
}

impl Failure {
    /// The evaluations that did not pass; empty for an invalid invariant.
    pub fn evaluations(&self) -> &[Evaluation] {
        match self {
            Failure::Invalid(_) => &[],
            Failure::Broken(evaluations) => evaluations,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let evaluations = match self {
            Failure::Invalid(message) => return write!(f, "invalid invariant: {message}"),
            Failure::Broken(evaluations) => evaluations,
        };
        for (i, e) in evaluations.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            // Assertions are named by their statement, which the first line repeats anyway.
            if e.name == e.statement {
                write!(f, "invariant failed:")?;
            } else {
                write!(f, "invariant {:?} failed:", e.name)?;
            }
            for line in evaluation_lines(e) {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

/// The same text as `Display`, so `unwrap()` and a `main` returning `Result` print it readably.
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failure {}

fn selection(text: &str, field: &str) -> Result<Selection, Failure> {
    Selection::parse(text).map_err(|e| Failure::Invalid(format!("{field} {text:?}: {e}")))
}

/// The ports of an `_on` assertion: at least one, since the assertion without `_on` is the one
/// about any port (`function` names it in the message).
fn listed_ports(list: &[&str], function: &str) -> Result<PortSet, Failure> {
    if list.is_empty() {
        return Err(Failure::Invalid(format!(
            "{function}_on needs at least one port ({function} is the assertion without ports)"
        )));
    }
    let mut set = PortSet::empty();
    for p in list {
        set.union_with(
            &invariants::parse_ports(p).ok_or_else(|| Failure::Invalid(format!("{p:?} is not PORT/PROTO")))?,
        );
    }
    Ok(set)
}

impl Segmentation {
    /// Loads a file or a folder of manifests (read recursively, as `netreach` reads a PATH),
    /// with the default engine options.
    pub fn load(path: impl AsRef<Path>) -> Result<Segmentation, LoadError> {
        Segmentation::load_with(&[path], &EngineOptions::default())
    }

    /// Loads several files or folders as one cluster, with the given engine options.
    pub fn load_with<P: AsRef<Path>>(paths: &[P], options: &EngineOptions) -> Result<Segmentation, LoadError> {
        let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.as_ref().to_path_buf())).collect();
        let loaded = load::load(&inputs)?;
        Ok(Segmentation::from_analysis(Analysis::new(loaded.cluster, options)))
    }

    /// A cluster from manifest text (multi-document YAML or JSON), for self-contained tests.
    pub fn from_manifests(text: &str) -> Result<Segmentation, LoadError> {
        let loaded = load::load_str("<manifests>", text)?;
        Ok(Segmentation::from_analysis(Analysis::new(loaded.cluster, &EngineOptions::default())))
    }

    /// Assertions on an analysis computed elsewhere (other options, a live cluster).
    pub fn from_analysis(analysis: Analysis) -> Segmentation {
        Segmentation { analysis, limit: 10 }
    }

    /// How many violations a failure lists (all are counted); 10 by default.
    pub fn with_limit(mut self, limit: usize) -> Segmentation {
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
            .map_err(|e| Failure::Invalid(format!("{:?}: {e}", invariant.name)))?;
        match eval.status {
            Status::Pass => Ok(()),
            _ => Err(Failure::Broken(vec![eval])),
        }
    }

    /// Evaluates one invariant written as in the invariants file (the `name` may be left out):
    /// `deny: {from: internet, to: any, except: {to: "shop/frontend"}}`.
    pub fn check_yaml(&self, text: &str) -> Result<(), Failure> {
        self.check(&Invariant::from_yaml(text).map_err(|e| Failure::Invalid(e.to_string()))?)
    }

    /// Evaluates every invariant of a file; the failure lists every invariant that did not
    /// pass. Returns the report when all passed.
    pub fn check_file(&self, path: impl AsRef<Path>) -> Result<Report, Failure> {
        let path = path.as_ref();
        let list = invariants::parse_file(path).map_err(|e| Failure::Invalid(e.to_string()))?;
        let report = invariants::check(&self.analysis, &path.display().to_string(), &list, self.limit)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        let bad: Vec<Evaluation> = report.evaluations.iter().filter(|e| !e.passed()).cloned().collect();
        if bad.is_empty() {
            Ok(report)
        } else {
            Err(Failure::Broken(bad))
        }
    }

    fn run(&self, assertion: Assertion) -> Result<(), Failure> {
        self.check(&Invariant { name: assertion.to_string(), description: None, assertion })
    }

    /// Nothing in `from` can connect to anything in `to`, on any port.
    pub fn denies(&self, from: &str, to: &str) -> Result<(), Failure> {
        self.run(Assertion::Deny {
            from: selection(from, "from")?,
            to: selection(to, "to")?,
            except: None,
            ports: None,
        })
    }

    /// Nothing in `from` can connect to anything in `to` on any of `ports` (at least one).
    pub fn denies_on(&self, from: &str, to: &str, ports: &[&str]) -> Result<(), Failure> {
        let ports = Some(listed_ports(ports, "denies")?);
        self.run(Assertion::Deny { from: selection(from, "from")?, to: selection(to, "to")?, except: None, ports })
    }

    /// Every endpoint of `from` can connect to every endpoint of `to` on some port.
    pub fn allows(&self, from: &str, to: &str) -> Result<(), Failure> {
        self.run(Assertion::Allow { from: selection(from, "from")?, to: selection(to, "to")?, ports: None })
    }

    /// Every endpoint of `from` can connect to every endpoint of `to` on all of `ports` (at
    /// least one).
    pub fn allows_on(&self, from: &str, to: &str, ports: &[&str]) -> Result<(), Failure> {
        let ports = Some(listed_ports(ports, "allows")?);
        self.run(Assertion::Allow { from: selection(from, "from")?, to: selection(to, "to")?, ports })
    }

    /// Into `to`, only `from` can connect (on any port). It does not require that `from` can:
    /// that is [`Segmentation::allows`].
    pub fn allows_only(&self, from: &str, to: &str) -> Result<(), Failure> {
        self.run(Assertion::AllowOnly { to: selection(to, "to")?, from: Some(selection(from, "from")?), ports: None })
    }

    /// Into `to`, only `from` can connect, and only on `ports` (at least one).
    pub fn allows_only_on(&self, from: &str, to: &str, ports: &[&str]) -> Result<(), Failure> {
        let ports = Some(listed_ports(ports, "allows_only")?);
        self.run(Assertion::AllowOnly { to: selection(to, "to")?, from: Some(selection(from, "from")?), ports })
    }

    /// Every connection policy allows from a pod of `from` to a pod of `to` runs with enforced
    /// mutual TLS on every allowed port, as `netreach mesh` sees it with the analysis's mesh
    /// options (the defaults unless [`Segmentation::from_analysis`] got others): plaintext and
    /// permissive ports break it; ports the mesh rejects and external ends do not count.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bookinfo = netreach::testing::Segmentation::load(concat!(
    ///     env!("CARGO_MANIFEST_DIR"),
    ///     "/../fixtures/mesh/istio-bookinfo-like"
    /// ))?;
    /// bookinfo.mtls("bookinfo/productpage", "bookinfo/reviews")?;
    /// let failure = bookinfo.mtls("monitoring/prometheus", "bookinfo/reviews").unwrap_err();
    /// assert!(failure.to_string().contains("plaintext on TCP 9091"), "{failure}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn mtls(&self, from: &str, to: &str) -> Result<(), Failure> {
        self.run(Assertion::Mtls { from: Some(selection(from, "from")?), to: selection(to, "to")? })
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
        self.run(Assertion::Isolated { namespaces, except: Vec::new(), ingress, egress })
    }

    /// An attacker holding any one endpoint of `from` reaches at most `at_most` pods within
    /// `hops` hops (node-local hops included, as `netreach paths` counts them).
    pub fn max_reach(&self, from: &str, hops: u32, at_most: u64) -> Result<(), Failure> {
        if hops == 0 {
            return Err(Failure::Invalid("hops must be at least 1".into()));
        }
        self.run(Assertion::MaxReach {
            from: selection(from, "from")?,
            hops,
            at_most,
            node_hops: true,
            identity_hops: false,
        })
    }
}
