//! The engine's equivalence classes seen from outside: members per class and one
//! representative each. Endpoints of one class are treated identically by every policy, and
//! classes sharing a row reach the same destinations, so counts are made once per row.

use netreach_model::{parallel, Reachability};

/// The engine's classes with the pod classes picked out; class membership is the engine's own.
pub(super) struct ClassView<'r> {
    reach: &'r Reachability,
    /// Classes with at least one pod, in class order.
    pod_classes: Vec<usize>,
}

impl<'r> ClassView<'r> {
    pub(super) fn new(reach: &'r Reachability) -> ClassView<'r> {
        let mut view = ClassView { reach, pod_classes: Vec::new() };
        view.pod_classes = (0..reach.class_count()).filter(|&c| view.is_pod_class(c)).collect();
        view
    }

    pub(super) fn class_of(&self, endpoint: usize) -> usize {
        self.reach.class_of(self.reach.endpoint(endpoint))
    }

    /// Endpoint indices of a class, ascending (pods first, then external ranges).
    pub(super) fn members(&self, class: usize) -> &'r [u32] {
        self.reach.class_members(class)
    }

    pub(super) fn class_count(&self) -> usize {
        self.reach.class_count()
    }

    /// Whether a class has pods (they come first among its members).
    pub(super) fn is_pod_class(&self, class: usize) -> bool {
        self.members(class).first().is_some_and(|&e| (e as usize) < self.reach.pod_count())
    }

    pub(super) fn pod_classes(&self) -> impl Iterator<Item = usize> + '_ {
        self.pod_classes.iter().copied()
    }

    /// Per namespace (`pod_ns[pod]` indexes `0..namespaces`): ordered pairs of distinct pods
    /// (source anywhere, destination in the namespace) with anything allowed. Counted once per
    /// distinct row (sources sharing a row reach the same destinations), spread over threads,
    /// then each class's pairs with itself taken out; pod pairs are counted, never listed.
    pub(super) fn allowed_pairs_into(&self, reach: &Reachability, pod_ns: &[u32], namespaces: usize) -> Vec<u64> {
        let pods = reach.pod_count();
        // Per class: how many of its pods are in each namespace.
        let dst_ns: Vec<Vec<(u32, u64)>> = (0..self.class_count())
            .map(|c| {
                let mut counts: Vec<(u32, u64)> = Vec::new();
                for &e in self.members(c).iter().take_while(|&&e| (e as usize) < pods) {
                    let ns = pod_ns[e as usize];
                    match counts.iter_mut().find(|(n, _)| *n == ns) {
                        Some(entry) => entry.1 += 1,
                        None => counts.push((ns, 1)),
                    }
                }
                counts
            })
            .collect();
        // Per row: the source pods reading it.
        let mut row_pods = vec![0u64; reach.row_count()];
        for &c in &self.pod_classes {
            row_pods[reach.row_of(c)] += dst_ns[c].iter().map(|&(_, n)| n).sum::<u64>();
        }
        let rows: Vec<usize> = (0..row_pods.len()).filter(|&r| row_pods[r] > 0).collect();
        let row_class = crate::rows::representatives(reach);
        let parts = parallel::map_ranges(rows.len(), |range| {
            let mut acc = vec![0u64; namespaces];
            for &r in &rows[range] {
                for (d, ports) in reach.class_row(row_class[r]) {
                    if ports.is_empty() {
                        continue;
                    }
                    for &(ns, count) in &dst_ns[d] {
                        acc[ns as usize] += row_pods[r] * count;
                    }
                }
            }
            acc
        });
        let mut total = vec![0u64; namespaces];
        for part in parts {
            for (t, v) in total.iter_mut().zip(part) {
                *t += v;
            }
        }
        // A pod does not count its pair with itself.
        for &c in &self.pod_classes {
            if reach.class_allowed(c, c).is_some_and(|p| !p.is_empty()) {
                for &(ns, count) in &dst_ns[c] {
                    total[ns as usize] -= count;
                }
            }
        }
        total
    }
}
