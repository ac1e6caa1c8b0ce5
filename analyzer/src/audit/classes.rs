//! The engine's equivalence classes seen from outside: members per class and one
//! representative each. Endpoints of one class are treated identically by every policy, so one
//! `Reachability::allowed` call per class pair answers for all their member pairs.

use netreach_model::{parallel, Endpoint, PortSet, Reachability};

/// The engine's classes with the pod classes picked out; class membership is the engine's own.
pub(super) struct ClassView<'r> {
    reach: &'r Reachability,
    /// Classes with at least one pod, in class order.
    pod_classes: Vec<usize>,
}

impl<'r> ClassView<'r> {
    pub(super) fn new(reach: &'r Reachability) -> ClassView<'r> {
        let pods = reach.pod_count();
        let pod_classes = (0..reach.class_count())
            .filter(|&c| reach.class_members(c).first().is_some_and(|&e| (e as usize) < pods))
            .collect();
        ClassView { reach, pod_classes }
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

    pub(super) fn pod_classes(&self) -> impl Iterator<Item = usize> + '_ {
        self.pod_classes.iter().copied()
    }

    /// What policy allows from any member of `src` to any member of `dst`.
    pub(super) fn allowed(&self, reach: &Reachability, src: usize, dst: usize) -> PortSet {
        let (s, d) = (self.members(src)[0] as usize, self.members(dst)[0] as usize);
        reach.allowed(reach.endpoint(s), reach.endpoint(d))
    }

    /// Per namespace (`pod_ns[pod]` indexes `0..namespaces`): ordered pairs of distinct pods
    /// (source anywhere, destination in the namespace) with anything allowed. One `allowed` call
    /// per pair of pod classes, spread over threads; pod pairs are counted, never listed.
    pub(super) fn allowed_pairs_into(&self, reach: &Reachability, pod_ns: &[u32], namespaces: usize) -> Vec<u64> {
        let pods = reach.pod_count();
        // Per class: its pods, and how many of them are in each namespace.
        let pod_members = |c: usize| self.members(c).iter().take_while(|&&e| (e as usize) < pods);
        let src_pods: Vec<u64> = (0..self.class_count()).map(|c| pod_members(c).count() as u64).collect();
        let dst_ns: Vec<Vec<(u32, u64)>> = (0..self.class_count())
            .map(|c| {
                let mut counts: Vec<(u32, u64)> = Vec::new();
                for &e in pod_members(c) {
                    let ns = pod_ns[e as usize];
                    match counts.iter_mut().find(|(n, _)| *n == ns) {
                        Some(entry) => entry.1 += 1,
                        None => counts.push((ns, 1)),
                    }
                }
                counts
            })
            .collect();
        let classes = &self.pod_classes;
        let reps: Vec<Endpoint> = classes.iter().map(|&c| reach.endpoint(self.members(c)[0] as usize)).collect();
        let parts = parallel::map_ranges(classes.len(), |range| {
            let mut acc = vec![0u64; namespaces];
            for si in range {
                let (s, rep) = (classes[si], reps[si]);
                for (&d, &dst) in classes.iter().zip(&reps) {
                    if reach.allowed(rep, dst).is_empty() {
                        continue;
                    }
                    for &(ns, count) in &dst_ns[d] {
                        acc[ns as usize] += src_pods[s] * count - if s == d { count } else { 0 };
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
        total
    }
}
