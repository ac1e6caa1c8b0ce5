//! Exposure changes of a diff: `netreach exposure` run on both sides, its entry paths matched by
//! (pod, port, protocol, entry point) and compared. A path on one side only is added or removed
//! (a Service turned LoadBalancer adds one per backend port); a path on both whose reachability
//! or entry port differs is changed. Cost: one `exposure` per side and a sorted merge.

use crate::analysis::Analysis;
use crate::exposure::{exposure, Exposure, ExposureOptions, Via};
use netreach_model::Protocol;
use std::collections::BTreeMap;

/// How an entry path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExposureChangeKind {
    Added,
    Removed,
    /// On both sides, with another reachability or entry port.
    Changed,
}

impl ExposureChangeKind {
    pub const ALL: [ExposureChangeKind; 3] =
        [ExposureChangeKind::Added, ExposureChangeKind::Removed, ExposureChangeKind::Changed];

    pub fn as_str(self) -> &'static str {
        match self {
            ExposureChangeKind::Added => "added",
            ExposureChangeKind::Removed => "removed",
            ExposureChangeKind::Changed => "changed",
        }
    }
}

/// One side's view of an entry path: whether every hop's policy admits it, and its entry port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExposureSide {
    pub reachable: bool,
    pub entry_port: Option<u16>,
}

/// One entry path that differs between the sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureChange {
    /// The pod's id (`namespace/name`).
    pub pod: String,
    pub port: u16,
    pub protocol: Protocol,
    pub via: Via,
    pub before: Option<ExposureSide>,
    pub after: Option<ExposureSide>,
}

impl ExposureChange {
    pub fn kind(&self) -> ExposureChangeKind {
        match (self.before, self.after) {
            (None, _) => ExposureChangeKind::Added,
            (_, None) => ExposureChangeKind::Removed,
            _ => ExposureChangeKind::Changed,
        }
    }
}

type PathKey = (String, u16, Protocol, Via);

/// One side's entry paths by key; a key entered on several entry ports keeps the reachable
/// one, then the lowest port.
fn entry_paths(analysis: &Analysis) -> BTreeMap<PathKey, ExposureSide> {
    let mut paths: BTreeMap<PathKey, ExposureSide> = BTreeMap::new();
    for e in exposure(analysis, &ExposureOptions::default()).exposures {
        let side = side_of(&e);
        let key = (analysis.id(e.pod), e.port, e.protocol, e.via);
        paths
            .entry(key)
            .and_modify(|kept| {
                if (side.reachable, std::cmp::Reverse(side.entry_port))
                    > (kept.reachable, std::cmp::Reverse(kept.entry_port))
                {
                    *kept = side;
                }
            })
            .or_insert(side);
    }
    paths
}

fn side_of(e: &Exposure) -> ExposureSide {
    ExposureSide { reachable: e.reachable(), entry_port: e.entry_port }
}

/// The entry paths that differ between `before` and `after`, by pod, port, protocol and entry
/// point; with `namespaces`, only those of pods in them (as `-n` narrows every diff entry).
pub fn exposure_changes(before: &Analysis, after: &Analysis, namespaces: &[String]) -> Vec<ExposureChange> {
    let (mut was, is) = (entry_paths(before), entry_paths(after));
    let mut out = Vec::new();
    for (key, now) in is {
        let then = was.remove(&key);
        if then != Some(now) {
            out.push((key, then, Some(now)));
        }
    }
    out.extend(was.into_iter().map(|(key, then)| (key, Some(then), None)));
    let mut changes: Vec<ExposureChange> = out
        .into_iter()
        .filter(|((pod, ..), _, _)| {
            namespaces.is_empty() || pod.split_once('/').is_some_and(|(ns, _)| namespaces.iter().any(|n| n == ns))
        })
        .map(|((pod, port, protocol, via), before, after)| ExposureChange { pod, port, protocol, via, before, after })
        .collect();
    changes.sort_by(|a, b| (&a.pod, a.port, a.protocol, &a.via).cmp(&(&b.pod, b.port, b.protocol, &b.via)));
    changes
}
