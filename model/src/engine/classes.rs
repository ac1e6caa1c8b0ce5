//! Equivalence classes: endpoints that belong to exactly the same selection sets are treated
//! identically by every policy, so the engine computes once per class.

use fixedbitset::FixedBitSet;

/// `class_of[endpoint]` and the members of each class, from a partition refinement: every set
/// splits the classes it cuts, in time linear in the set's size.
pub struct Classes {
    /// Per endpoint: the index of its class.
    pub class_of: Vec<u32>,
    /// Per class: its endpoints, in index order.
    pub members: Vec<Vec<u32>>,
}

impl Classes {
    /// Splits `endpoint_count` endpoints into the classes no set in `sets` tells apart.
    pub fn refine(endpoint_count: usize, sets: &[Vec<u32>]) -> Classes {
        let mut class_of = vec![0u32; endpoint_count];
        let mut size: Vec<usize> = vec![endpoint_count];
        // For the set being applied: old class -> the class its members move to.
        let mut moved_to: Vec<u32> = vec![u32::MAX];
        let mut touched: Vec<u32> = Vec::new();
        for set in sets {
            for &e in set {
                let old = class_of[e as usize];
                let new = if moved_to[old as usize] == u32::MAX {
                    let new = size.len() as u32;
                    size.push(0);
                    moved_to.push(u32::MAX);
                    moved_to[old as usize] = new;
                    touched.push(old);
                    new
                } else {
                    moved_to[old as usize]
                };
                class_of[e as usize] = new;
                size[old as usize] -= 1;
                size[new as usize] += 1;
            }
            for old in touched.drain(..) {
                moved_to[old as usize] = u32::MAX;
            }
        }
        // Renumber the non-empty classes densely, in order of their first endpoint.
        let mut renumber = vec![u32::MAX; size.len()];
        let mut members: Vec<Vec<u32>> = Vec::new();
        for (e, c) in class_of.iter_mut().enumerate() {
            if renumber[*c as usize] == u32::MAX {
                renumber[*c as usize] = members.len() as u32;
                members.push(Vec::new());
            }
            *c = renumber[*c as usize];
            members[*c as usize].push(e as u32);
        }
        Classes { class_of, members }
    }

    /// The number of classes.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no classes (no endpoints).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The classes of a set's members; exact because the classes refine every set.
    pub fn class_set(&self, endpoints: &[u32]) -> FixedBitSet {
        let mut bits = FixedBitSet::with_capacity(self.len());
        for &e in endpoints {
            bits.insert(self.class_of[e as usize] as usize);
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refinement_separates_exactly_what_the_sets_distinguish() {
        // 0..6; sets {0,1,2}, {2,3}; classes: {0,1}, {2}, {3}, {4,5}
        let c = Classes::refine(6, &[vec![0, 1, 2], vec![2, 3]]);
        assert_eq!(c.len(), 4);
        assert_eq!(c.class_of[0], c.class_of[1]);
        assert_eq!(c.class_of[4], c.class_of[5]);
        let distinct: std::collections::BTreeSet<u32> = [0, 2, 3, 4].iter().map(|&e| c.class_of[e]).collect();
        assert_eq!(distinct.len(), 4);
        let all: usize = c.members.iter().map(Vec::len).sum();
        assert_eq!(all, 6);
    }

    #[test]
    fn a_set_covering_a_whole_class_does_not_split_it() {
        let c = Classes::refine(4, &[vec![0, 1, 2, 3], vec![0, 1], vec![0, 1]]);
        assert_eq!(c.len(), 2);
    }
}
