//! `netreach diff` on random pairs of clusters: diff(A, A) is empty; diff(A, B) is diff(B, A)
//! with added and removed (and before and after) swapped; and the class-level diff agrees with
//! a plain pair-by-pair comparison of `Reachability::allowed` on both sides, for every pod pair
//! present on both sides and every pod against every external atom.

use netreach::aggregate::Level;
use netreach::audit::audit;
use netreach::diff::{ChangeKind, Diff, FindingChanges};
use netreach::Analysis;
use netreach_model::{Cluster, PortSet};
use netreach_proptests::ALL_OPTIONS;
use netreach_proptests::{generate, probes};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Two related clusters: B shares A's pods with other policies, other namespace labels, a
/// mix of kept, dropped and new pods and policies, or is independent (pods `ns/pN` then
/// coincide only where the generator put them in the same namespace).
fn two_clusters() -> impl Strategy<Value = (Cluster, Cluster)> {
    (generate::cluster(), generate::cluster(), 0..4usize).prop_map(|(a, b, mode)| {
        let b = match mode {
            0 => Cluster { policies: b.policies, ..a.clone() },
            1 => Cluster { namespaces: b.namespaces, ..a.clone() },
            2 => {
                let mut c = a.clone();
                let mut i = 0;
                c.pods.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                c.pods.extend(b.pods.into_iter().enumerate().map(|(i, mut p)| {
                    p.name = format!("q{i}");
                    p
                }));
                c.policies.truncate(c.policies.len() / 2);
                c.policies.extend(b.policies.into_iter().enumerate().map(|(i, mut p)| {
                    p.name = format!("other{i}");
                    p
                }));
                c
            }
            _ => b,
        };
        (a, b)
    })
}

type Entry = (String, String, PortSet, PortSet);

fn entries(diff: &Diff, level: Level, kind: ChangeKind) -> Vec<Entry> {
    let mut v = Vec::new();
    diff.view(level)
        .for_each_change::<()>(kind, |c| {
            v.push((c.src.id.clone(), c.dst.id.clone(), c.delta.before.clone(), c.delta.after.clone()));
            Ok(())
        })
        .unwrap();
    v
}

fn swapped(v: Vec<Entry>) -> Vec<Entry> {
    v.into_iter().map(|(s, d, b, a)| (s, d, a, b)).collect()
}

/// The diff at pod level as a map (src, dst) -> (before, after).
fn pod_map(diff: &Diff) -> BTreeMap<(String, String), (PortSet, PortSet)> {
    let mut map = BTreeMap::new();
    for kind in ChangeKind::ALL {
        for (s, d, b, a) in entries(diff, Level::Pod, kind) {
            let kind_of = if b.is_empty() {
                ChangeKind::Added
            } else if a.is_empty() {
                ChangeKind::Removed
            } else {
                ChangeKind::Changed
            };
            assert_eq!(kind_of, kind, "{s} -> {d} listed under the wrong kind");
            assert_ne!(b, a, "{s} -> {d} listed without a difference");
            assert!(map.insert((s.clone(), d.clone()), (b, a)).is_none(), "{s} -> {d} listed twice");
        }
    }
    map
}

/// The plain reading: every ordered pair of distinct pods present on both sides, and every such
/// pod with every external atom (each atom probed at its first address, plus the ipBlock edges
/// of both sides), compared with `allowed` on each side.
fn reference_diff(before: &Analysis, after: &Analysis, diff: &Diff) -> BTreeMap<(String, String), (PortSet, PortSet)> {
    let find = |a: &Analysis| -> BTreeMap<String, usize> {
        (0..a.reach.pod_count()).map(|i| (a.cluster.pods[i].id(), i)).collect()
    };
    let (pb, pa) = (find(before), find(after));
    let common: Vec<(&String, usize, usize)> =
        pb.iter().filter_map(|(id, &b)| pa.get(id).map(|&a| (id, b, a))).collect();
    let mut map = BTreeMap::new();
    let mut note = |s: &str, d: &str, b: PortSet, a: PortSet| {
        if b != a {
            map.insert((s.to_string(), d.to_string()), (b, a));
        }
    };
    for &(s, sb, sa) in &common {
        for &(d, db, da) in &common {
            if s != d {
                note(
                    s,
                    d,
                    before.reach.allowed(before.reach.endpoint(sb), before.reach.endpoint(db)),
                    after.reach.allowed(after.reach.endpoint(sa), after.reach.endpoint(da)),
                );
            }
        }
    }
    let mut addresses: BTreeSet<std::net::IpAddr> = probes::external_ips(&before.cluster).into_iter().collect();
    addresses.extend(probes::external_ips(&after.cluster));
    for atom in &diff.atoms {
        let (lo, hi) = atom.ranges.intervals()[0];
        for v in [lo, hi] {
            addresses.insert(match atom.ranges.family {
                netreach_model::IpFamily::V4 => std::net::IpAddr::V4((v as u32).into()),
                netreach_model::IpFamily::V6 => std::net::IpAddr::V6(v.into()),
            });
        }
    }
    for ip in addresses {
        let (Some(xb), Some(xa)) = (before.external_containing(ip), after.external_containing(ip)) else {
            assert!(diff.atom_containing(ip).is_none(), "{ip}: an atom outside the ranges of one side");
            continue;
        };
        let atom = &diff.atom_containing(ip).unwrap_or_else(|| panic!("{ip}: in both sides' ranges but in no atom")).id;
        for &(p, b, a) in &common {
            let (rb, ra) = (&before.reach, &after.reach);
            note(p, atom, rb.allowed(rb.endpoint(b), rb.endpoint(xb)), ra.allowed(ra.endpoint(a), ra.endpoint(xa)));
            note(atom, p, rb.allowed(rb.endpoint(xb), rb.endpoint(b)), ra.allowed(ra.endpoint(xa), ra.endpoint(a)));
        }
    }
    map
}

/// The namespace of a pod id, or the external atom id itself: the namespace-level group.
fn namespace_group(id: &str) -> String {
    if id.starts_with("external:") {
        id.to_string()
    } else {
        id.split('/').next().unwrap().to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn diff_of_a_cluster_with_itself_is_empty(a in generate::cluster(), o in 0..4usize) {
        let x = Analysis::new(a.clone(), &ALL_OPTIONS[o]);
        let y = Analysis::new(a, &ALL_OPTIONS[o]);
        let diff = Diff::new(&x, &y);
        prop_assert!(diff.is_empty());
        prop_assert_eq!(diff.pair_counts().total(), 0);
        prop_assert!(FindingChanges::new(&audit(&x), &audit(&y)).is_empty());
        for level in [Level::Pod, Level::Workload, Level::Namespace] {
            for kind in ChangeKind::ALL {
                prop_assert!(entries(&diff, level, kind).is_empty());
            }
        }
    }

    #[test]
    fn swapping_the_sides_swaps_added_and_removed((a, b) in two_clusters(), o in 0..4usize) {
        let (x, y) = (Analysis::new(a, &ALL_OPTIONS[o]), Analysis::new(b, &ALL_OPTIONS[o]));
        let (xy, yx) = (Diff::new(&x, &y), Diff::new(&y, &x));
        for level in [Level::Pod, Level::Namespace] {
            prop_assert_eq!(entries(&xy, level, ChangeKind::Added), swapped(entries(&yx, level, ChangeKind::Removed)));
            prop_assert_eq!(entries(&xy, level, ChangeKind::Removed), swapped(entries(&yx, level, ChangeKind::Added)));
            prop_assert_eq!(entries(&xy, level, ChangeKind::Changed), swapped(entries(&yx, level, ChangeKind::Changed)));
        }
        let (c, d) = (xy.pair_counts(), yx.pair_counts());
        prop_assert_eq!((c.added, c.removed, c.changed), (d.removed, d.added, d.changed));
        prop_assert_eq!(&xy.pods_only_before, &yx.pods_only_after);
        prop_assert_eq!(&xy.pods_only_after, &yx.pods_only_before);
        prop_assert_eq!(&xy.externals_only_before, &yx.externals_only_after);
        let atoms = |d: &Diff| d.atoms.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        prop_assert_eq!(atoms(&xy), atoms(&yx));
        let (ax, ay) = (audit(&x), audit(&y));
        let (fxy, fyx) = (FindingChanges::new(&ax, &ay), FindingChanges::new(&ay, &ax));
        prop_assert_eq!(&fxy.appeared, &fyx.resolved);
        prop_assert_eq!(&fxy.resolved, &fyx.appeared);
        let swapped_findings: Vec<_> = fyx.changed.iter().map(|(b, a)| (a.clone(), b.clone())).collect();
        prop_assert_eq!(&fxy.changed, &swapped_findings);
    }

    #[test]
    fn diff_agrees_with_pair_by_pair_comparison((a, b) in two_clusters(), o in 0..4usize) {
        let (x, y) = (Analysis::new(a, &ALL_OPTIONS[o]), Analysis::new(b, &ALL_OPTIONS[o]));
        let diff = Diff::new(&x, &y);
        let got = pod_map(&diff);
        let expected = reference_diff(&x, &y, &diff);
        prop_assert_eq!(&got, &expected);
        let counts = diff.pair_counts();
        prop_assert_eq!(counts.total() as usize, got.len());
        prop_assert_eq!(diff.reachability_unchanged(), got.is_empty());
    }

    #[test]
    fn namespace_level_merges_the_pod_level((a, b) in two_clusters(), o in 0..4usize) {
        let (x, y) = (Analysis::new(a, &ALL_OPTIONS[o]), Analysis::new(b, &ALL_OPTIONS[o]));
        let diff = Diff::new(&x, &y);
        // Pod pairs merged by hand: (src ns, dst ns) -> (before ∪, after ∪, gained ∪, lost ∪, [added, removed, changed]).
        type Merged = (PortSet, PortSet, PortSet, PortSet, [u64; 3]);
        let mut expected: BTreeMap<(String, String), Merged> = BTreeMap::new();
        for ((s, d), (before, after)) in pod_map(&diff) {
            let e = expected.entry((namespace_group(&s), namespace_group(&d))).or_default();
            let k = if before.is_empty() { 0 } else if after.is_empty() { 1 } else { 2 };
            e.2.union_with(&after.difference(&before));
            e.3.union_with(&before.difference(&after));
            e.0.union_with(&before);
            e.1.union_with(&after);
            e.4[k] += 1;
        }
        let view = diff.view(Level::Namespace);
        let mut got: BTreeMap<(String, String), Merged> = BTreeMap::new();
        let mut entries_per_kind = [0u64; 3];
        for kind in ChangeKind::ALL {
            view.for_each_change::<()>(kind, |c| {
                let p = c.pairs.expect("group-level entries carry pair counts");
                assert!(p.added + p.removed + p.changed <= p.of);
                entries_per_kind[kind as usize] += 1;
                let d = c.delta;
                assert_eq!(c.kind(), kind);
                got.insert((c.src.id.clone(), c.dst.id.clone()), (d.before.clone(), d.after.clone(), d.gained.clone(), d.lost.clone(), [p.added, p.removed, p.changed]));
                Ok(())
            }).unwrap();
        }
        prop_assert_eq!(got, expected);
        for kind in ChangeKind::ALL {
            prop_assert_eq!(view.count(kind), entries_per_kind[kind as usize]);
        }
    }
}
