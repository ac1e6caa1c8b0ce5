//! `connectivity --mesh`: the connections with the mesh layer applied. A port is listed when
//! NetworkPolicy allows it, mTLS does not reject it and Istio authorization allows it; a port an
//! external authorizer decides (CUSTOM) is listed apart, with its provider, never as allowed.
//!
//! What a connection keeps depends only on its source side, destination profile and the
//! statuses of its allowed ports ([`MeshView`] interns all three), so it is computed once per
//! distinct (side, profile, statuses) and looked up per listed pair; counts walk the engine's
//! rows and class buckets ([`MeshView::class_pass`]), never pod pairs.

use super::MeshView;
use crate::filter::ConnectionFilter;
use netreach_model::mesh::authz::{AuthzAction, AuthzVerdict};
use netreach_model::mesh::MtlsStatus;
use netreach_model::{PortSet, Protocol};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Ports an external authorizer decides: the CUSTOM policy, its provider, the ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomPorts {
    /// `namespace/name` of the CUSTOM policy.
    pub policy: String,
    /// `spec.provider.name`.
    pub provider: String,
    pub ports: PortSet,
}

/// What the mesh leaves of one connection's allowed ports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeshPorts {
    /// Open through NetworkPolicy, mTLS and authorization.
    pub open: PortSet,
    /// Decided by an external authorizer, per CUSTOM policy.
    pub custom: Vec<CustomPorts>,
}

impl MeshPorts {
    /// Whether nothing is left to list.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.custom.is_empty()
    }
}

/// Pairs the mesh layer leaves something open to (or to an external authorizer), per protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EffectiveCounts {
    /// Pairs with some port open.
    pub open: u64,
    /// Of `open`, pairs with some port of each protocol open (TCP, UDP, SCTP).
    pub open_by_protocol: [u64; 3],
    /// Pairs with some port left to an external authorizer.
    pub custom: u64,
}

/// A source side, a destination profile and the address of an interned status split.
type SplitKey = (u32, u32, *const (MtlsStatus, PortSet));

/// The connections of a [`MeshView`] as both layers leave them.
pub struct EffectiveConnections<'v, 'a> {
    pub view: &'v MeshView<'a>,
    /// Per (source side, destination profile, statuses by address): what is left.
    memo: RefCell<HashMap<SplitKey, Rc<MeshPorts>>>,
}

impl<'v, 'a> EffectiveConnections<'v, 'a> {
    pub fn new(view: &'v MeshView<'a>) -> Self {
        EffectiveConnections { view, memo: RefCell::default() }
    }

    /// What the mesh leaves of `split` (statuses of allowed ports) from `side` to `profile`.
    fn left_of(&self, side: u32, profile: u32, split: &[(MtlsStatus, PortSet)]) -> Rc<MeshPorts> {
        // Splits are interned by the view and live as long as it: the address is the key.
        let key = (side, profile, split.as_ptr());
        if let Some(found) = self.memo.borrow().get(&key) {
            return found.clone();
        }
        let mut left = MeshPorts::default();
        for (status, ports) in split.iter() {
            // A rejected handshake closes the port whatever authorization says.
            if *status == MtlsStatus::Rejected {
                continue;
            }
            for (decision, part) in self.view.authz_of(side, profile, *status, ports).iter() {
                match decision.verdict {
                    AuthzVerdict::Allow => left.open.union_with(part),
                    AuthzVerdict::Deny => {}
                    AuthzVerdict::Custom => self.add_custom(&mut left, decision.policy, part),
                }
            }
        }
        left.custom.sort_by(|a, b| a.policy.cmp(&b.policy));
        let left = Rc::new(left);
        self.memo.borrow_mut().insert(key, left.clone());
        left
    }

    fn add_custom(&self, left: &mut MeshPorts, policy: Option<u32>, ports: &PortSet) {
        let policy = policy.map(|p| &self.view.authz.policies[p as usize]);
        let id = policy.map_or_else(String::new, |p| p.id());
        match left.custom.iter_mut().find(|c| c.policy == id) {
            Some(entry) => entry.ports.union_with(ports),
            None => {
                let provider = match policy.map(|p| &p.action) {
                    Some(AuthzAction::Custom(name)) => name.clone(),
                    _ => String::new(),
                };
                left.custom.push(CustomPorts { policy: id, provider, ports: ports.clone() });
            }
        }
    }

    /// What the mesh leaves of the connection `src → dst` (endpoint indices) allowed on `ports`.
    pub fn between(&self, src: usize, dst: usize, ports: &PortSet) -> Rc<MeshPorts> {
        let view = self.view;
        let (side, profile) = (view.side(src), view.profile(dst));
        let split = view.split_of(side, profile, view.engine_ports(ports));
        self.left_of(side, profile, &split)
    }

    /// Every connection NetworkPolicy allows that the mesh leaves something of, in the order of
    /// [`netreach_model::Reachability::for_each_connection`]: `f(src, dst, left)`.
    pub fn for_each_connection<E>(
        &self,
        mut f: impl FnMut(usize, usize, &MeshPorts) -> Result<(), E>,
    ) -> Result<(), E> {
        self.view.analysis.reach.for_each_connection(|src, dst, ports| {
            let left = self.between(src, dst, ports);
            if left.is_empty() {
                return Ok(());
            }
            f(src, dst, &left)
        })
    }

    /// The pairs `filter` keeps that the mesh leaves something of. Unfiltered, per row entry and
    /// class bucket; a filter picks pods, so filtered counts walk the pairs it keeps.
    pub fn count(&self, filter: &ConnectionFilter) -> EffectiveCounts {
        let mut counts = EffectiveCounts::default();
        let mut add = |left: &MeshPorts, pairs: u64| {
            if !left.open.is_empty() {
                counts.open += pairs;
                for (k, protocol) in Protocol::ALL.into_iter().enumerate() {
                    if !left.open.ranges(protocol).is_empty() {
                        counts.open_by_protocol[k] += pairs;
                    }
                }
            }
            if !left.custom.is_empty() {
                counts.custom += pairs;
            }
        };
        if filter.is_active() {
            let _ = self.for_each_connection::<std::convert::Infallible>(|src, dst, left| {
                if filter.keeps(src, dst) {
                    add(left, 1);
                }
                Ok(())
            });
        } else {
            self.view.class_pass(
                |_| 0,
                |_| 0,
                |_, side, _, profile, pairs, port_id| {
                    add(&self.left_of(side, profile, &self.view.split_of(side, profile, port_id)), pairs)
                },
            );
        }
        counts
    }
}
