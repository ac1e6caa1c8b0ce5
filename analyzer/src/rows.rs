//! The engine's class rows as the queries read them: one class per distinct row, a row walked
//! against a sorted list of classes, and port sets numbered by value. Queries that work once per
//! distinct row (`Reachability::row_of`) and borrow port sets (`class_allowed`) cost what the
//! rows cost, not class pairs, and get faster by themselves as the engine shares more rows.

use netreach_model::{PortSet, Reachability};
use std::collections::HashMap;

/// One class reading each row id, the lowest (`usize::MAX` for a row no class reads).
pub(crate) fn representatives(reach: &Reachability) -> Vec<usize> {
    let mut rep = vec![usize::MAX; reach.row_count()];
    for c in (0..reach.class_count()).rev() {
        rep[reach.row_of(c)] = c;
    }
    rep
}

/// What `class` allows to each class of `dsts` (ascending), in order: `f(dst, ports)`, `None`
/// where nothing is allowed. The row and the list are walked together: O(row + dsts), no
/// binary search and no clone per pair.
pub(crate) fn row_against<'r>(
    reach: &'r Reachability,
    class: usize,
    dsts: &[usize],
    mut f: impl FnMut(usize, Option<&'r PortSet>),
) {
    let mut row = reach.class_row(class).peekable();
    for &d in dsts {
        while row.next_if(|&(rd, _)| rd < d).is_some() {}
        let ports = row.next_if(|&(rd, _)| rd == d).map(|(_, p)| p);
        f(d, ports);
    }
}

/// Port sets numbered by value, so that comparing or memoizing them costs an integer. Sets
/// borrowed from an engine are looked up by address first (the last one remembered): a row
/// lends the same few sets over and over, and hashing a set is the costly part.
#[derive(Default)]
pub(crate) struct PortIds {
    by_value: HashMap<PortSet, u32>,
    by_address: HashMap<*const PortSet, u32>,
    last: Option<(*const PortSet, u32)>,
    /// The sets, by id.
    pub(crate) values: Vec<PortSet>,
}

impl PortIds {
    /// The id of a set borrowed from a `Reachability` that outlives this numbering: its address
    /// must not be reused by another set meanwhile (use [`PortIds::intern`] for temporaries).
    pub(crate) fn id_of(&mut self, ports: &PortSet) -> u32 {
        let address = ports as *const PortSet;
        if let Some((_, id)) = self.last.filter(|&(a, _)| a == address) {
            return id;
        }
        let id = match self.by_address.get(&address) {
            Some(&id) => id,
            None => {
                let id = self.intern(ports);
                self.by_address.insert(address, id);
                id
            }
        };
        self.last = Some((address, id));
        id
    }

    /// The id of any set, by value.
    pub(crate) fn intern(&mut self, ports: &PortSet) -> u32 {
        if let Some(&id) = self.by_value.get(ports) {
            return id;
        }
        let id = self.values.len() as u32;
        self.by_value.insert(ports.clone(), id);
        self.values.push(ports.clone());
        id
    }
}
