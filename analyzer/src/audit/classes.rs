//! The engine's equivalence classes seen from outside: members per class and one
//! representative each. Endpoints of one class are treated identically by every policy, so one
//! `Reachability::allowed` call per class pair answers for all their member pairs.

use netreach_model::{Endpoint, PortSet, Reachability};

pub(super) struct ClassView {
    class_of: Vec<u32>,
    members: Vec<Vec<u32>>,
    /// Classes with at least one pod, in class order.
    pod_classes: Vec<usize>,
}

impl ClassView {
    pub(super) fn new(reach: &Reachability) -> ClassView {
        let n = reach.endpoint_count();
        let class_of: Vec<u32> = (0..n).map(|e| reach.class_of(reach.endpoint(e)) as u32).collect();
        let count = class_of.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        let mut members = vec![Vec::new(); count];
        for (e, &c) in class_of.iter().enumerate() {
            members[c as usize].push(e as u32);
        }
        let pods = reach.pod_count();
        let pod_classes = (0..count).filter(|&c| members[c].first().is_some_and(|&e| (e as usize) < pods)).collect();
        ClassView { class_of, members, pod_classes }
    }

    pub(super) fn class_of(&self, endpoint: usize) -> usize {
        self.class_of[endpoint] as usize
    }

    /// Endpoint indices of a class, ascending (pods first, then external ranges).
    pub(super) fn members(&self, class: usize) -> &[u32] {
        &self.members[class]
    }

    pub(super) fn class_count(&self) -> usize {
        self.members.len()
    }

    pub(super) fn pod_classes(&self) -> impl Iterator<Item = usize> + '_ {
        self.pod_classes.iter().copied()
    }

    /// What policy allows from any member of `src` to any member of `dst`.
    pub(super) fn allowed(&self, reach: &Reachability, src: usize, dst: usize) -> PortSet {
        let (s, d) = (self.members[src][0] as usize, self.members[dst][0] as usize);
        reach.allowed(reach.endpoint(s), reach.endpoint(d))
    }

    /// Per namespace (`pod_ns[pod]` indexes `0..namespaces`): ordered pairs of distinct pods
    /// (source anywhere, destination in the namespace) with anything allowed. One `allowed` call
    /// per pair of pod classes, spread over threads; pod pairs are counted, never listed.
    pub(super) fn allowed_pairs_into(&self, reach: &Reachability, pod_ns: &[u32], namespaces: usize) -> Vec<u64> {
        let pods = reach.pod_count();
        // Per class: its pods, and how many of them are in each namespace.
        let pod_members = |c: usize| self.members[c].iter().take_while(|&&e| (e as usize) < pods);
        let src_pods: Vec<u64> = (0..self.members.len()).map(|c| pod_members(c).count() as u64).collect();
        let dst_ns: Vec<Vec<(u32, u64)>> = (0..self.members.len())
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
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let classes = &self.pod_classes;
        let reps: Vec<Endpoint> = classes.iter().map(|&c| reach.endpoint(self.members[c][0] as usize)).collect();
        let parts: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (src_pods, dst_ns, reps) = (&src_pods, &dst_ns, &reps);
                    scope.spawn(move || {
                        let mut acc = vec![0u64; namespaces];
                        for (si, &s) in classes.iter().enumerate().skip(t).step_by(threads) {
                            let rep = reps[si];
                            for (&d, &dst) in classes.iter().zip(reps) {
                                if reach.allowed(rep, dst).is_empty() {
                                    continue;
                                }
                                for &(ns, count) in &dst_ns[d] {
                                    acc[ns as usize] += src_pods[s] * count - if s == d { count } else { 0 };
                                }
                            }
                        }
                        acc
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("audit thread panicked")).collect()
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
