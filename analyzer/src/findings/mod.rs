//! Findings as values: what audit checks, mesh checks and every future layer report. A
//! [`Finding`] has a stable id (from its [`Check`]), a fixed [`Severity`], the objects involved
//! ([`ObjectRef`]) and a one-line fix; [`sort`] is the one order every report lists them in, and
//! [`FindingChanges`] compares two lists (`netreach diff`). [`render`] prints them, [`sarif`]
//! writes them for code scanning, and [`suppress`] sets aside those a user accepted.
//!
//! A leaf: nothing here imports the modules that produce findings.

pub mod render;
pub mod sarif;
pub mod suppress;

use netreach_model::{NetworkPolicy, Pod};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// How bad a finding is; `--fail-on` compares against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Below every check's own severity: a finding lowered because it is probably intended
    /// (NR011/NR012 about pods an operator will create).
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// One level lower; `Info` stays `Info`.
    pub fn lowered(self) -> Severity {
        match self {
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One kind of finding: a stable id, a name and a fixed severity (an entry of a check registry:
/// `audit::CHECKS`, `mesh::MESH_CHECKS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// What the check reports, for documentation.
    pub summary: &'static str,
}

/// A Kubernetes object a finding is about, optionally narrowed to a field
/// (`spec.ingress[1].from[0]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    /// `None` for cluster-scoped objects (Namespace).
    pub namespace: Option<String>,
    pub name: String,
    pub field: Option<String>,
}

impl ObjectRef {
    pub fn namespace(name: &str) -> ObjectRef {
        ObjectRef { kind: "Namespace".into(), namespace: None, name: name.into(), field: None }
    }

    pub fn cluster_policy(policy: &netreach_model::ClusterPolicy, field: Option<String>) -> ObjectRef {
        ObjectRef { kind: policy.kind.as_str().into(), namespace: None, name: policy.name.clone(), field }
    }

    pub fn policy(policy: &NetworkPolicy, field: Option<String>) -> ObjectRef {
        ObjectRef {
            kind: "NetworkPolicy".into(),
            namespace: Some(policy.namespace.clone()),
            name: policy.name.clone(),
            field,
        }
    }

    /// The pod's top-most workload (`Deployment web/frontend`), or the pod itself.
    pub fn workload_of(pod: &Pod) -> ObjectRef {
        match &pod.workload {
            Some(w) => ObjectRef {
                kind: w.kind.clone(),
                namespace: Some(pod.namespace.clone()),
                name: w.name.clone(),
                field: None,
            },
            None => ObjectRef {
                kind: "Pod".into(),
                namespace: Some(pod.namespace.clone()),
                name: pod.name.clone(),
                field: None,
            },
        }
    }
}

impl std::fmt::Display for ObjectRef {
    /// `NetworkPolicy web/frontend spec.egress[1].to[0]`, `Namespace billing`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name)?,
            None => write!(f, "{} {}", self.kind, self.name)?,
        }
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// The namespace the finding is about (for NR010: the namespace of the source pods).
    pub namespace: Option<String>,
    pub objects: Vec<ObjectRef>,
    pub message: String,
    pub fix: String,
    /// The infrastructure destination the finding is about (`cloud-metadata`, …; NR017-NR020).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<&'static str>,
}

impl Finding {
    pub fn new(
        check: Check,
        namespace: Option<&str>,
        objects: Vec<ObjectRef>,
        message: String,
        fix: String,
    ) -> Finding {
        Finding {
            id: check.id,
            name: check.name,
            severity: check.severity,
            namespace: namespace.map(str::to_string),
            objects,
            message,
            fix,
            destination: None,
        }
    }

    /// The same finding, about an infrastructure destination.
    pub fn about(mut self, destination: netreach_model::Destination) -> Finding {
        self.destination = Some(destination.keyword());
        self
    }

    /// Whether the finding concerns one of `namespaces`: it is about one of them, or names an
    /// object in one of them (or one of the Namespaces themselves). `-n/--namespace` keeps these.
    pub fn concerns(&self, namespaces: &[String]) -> bool {
        let listed = |ns: &str| namespaces.iter().any(|n| n == ns);
        self.namespace.as_deref().is_some_and(listed)
            || self.objects.iter().any(|o| match &o.namespace {
                Some(ns) => listed(ns),
                None => o.kind == "Namespace" && listed(&o.name),
            })
    }

    /// The same finding one severity level lower (see [`Severity::lowered`]).
    pub fn lowered(mut self) -> Finding {
        self.severity = self.severity.lowered();
        self
    }
}

/// How many findings have exactly this severity.
pub fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

/// The order every report lists findings in, past severity: id, namespace, objects, message.
fn order_within_severity(a: &Finding, b: &Finding) -> Ordering {
    a.id.cmp(b.id)
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.objects.cmp(&b.objects))
        .then_with(|| a.message.cmp(&b.message))
}

/// The order every report lists findings in: most severe first, then by id, namespace, objects.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| order_within_severity(a, b)));
}

/// Findings that differ between two lists (before and after a change). A finding is identified
/// by its check, namespace and objects: present after only, it *appeared*; before only, it was
/// *resolved*; on both sides with another message (more pods exposed, other ports, other range
/// names), it *changed*.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingChanges {
    pub appeared: Vec<Finding>,
    pub resolved: Vec<Finding>,
    /// (before, after).
    pub changed: Vec<(Finding, Finding)>,
}

impl FindingChanges {
    /// Compares two lists of findings (an `AuditReport` is one).
    pub fn new(before: &(impl AsRef<[Finding]> + ?Sized), after: &(impl AsRef<[Finding]> + ?Sized)) -> FindingChanges {
        type Key<'f> = (&'f str, &'f Option<String>, &'f [ObjectRef]);
        fn by_key(findings: &[Finding]) -> BTreeMap<Key<'_>, Vec<&Finding>> {
            let mut map: BTreeMap<Key, Vec<&Finding>> = BTreeMap::new();
            for f in findings {
                map.entry((f.id, &f.namespace, &f.objects)).or_default().push(f);
            }
            map
        }
        let (b, a) = (by_key(before.as_ref()), by_key(after.as_ref()));
        let mut changes = FindingChanges::default();
        for (key, fb) in &b {
            let fa = a.get(key).map(Vec::as_slice).unwrap_or_default();
            match (fb.as_slice(), fa) {
                ([x], [y]) if x.message != y.message => changes.changed.push(((*x).clone(), (*y).clone())),
                _ => changes
                    .resolved
                    .extend(fb.iter().filter(|x| !fa.iter().any(|y| y.message == x.message)).map(|x| (*x).clone())),
            }
        }
        for (key, fa) in &a {
            let fb = b.get(key).map(Vec::as_slice).unwrap_or_default();
            if !matches!((fb, fa.as_slice()), ([x], [y]) if x.message != y.message) {
                changes
                    .appeared
                    .extend(fa.iter().filter(|y| !fb.iter().any(|x| x.message == y.message)).map(|y| (*y).clone()));
            }
        }
        sort(&mut changes.appeared);
        sort(&mut changes.resolved);
        // A change may change the severity too: order by the higher one, so that swapping the
        // sides gives the same order.
        changes.changed.sort_by(|(xb, xa), (yb, ya)| {
            yb.severity.max(ya.severity).cmp(&xb.severity.max(xa.severity)).then_with(|| order_within_severity(xb, yb))
        });
        changes
    }

    pub fn len(&self) -> usize {
        self.appeared.len() + self.resolved.len() + self.changed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
