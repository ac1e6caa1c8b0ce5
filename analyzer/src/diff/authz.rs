//! Authorization changes of a diff: pairs whose mesh verdict (Istio AuthorizationPolicy, and
//! the mTLS status it reads) changes on ports NetworkPolicy allows on both sides, so a change of
//! an AuthorizationPolicy shows even where reachability is unchanged.
//!
//! Shared endpoints are grouped by what both sides' mesh layers tell apart (engine class, source
//! side and destination profile, before and after); each pair of groups is compared once and
//! only the groups that differ are expanded into pod pairs.

use super::Diff;
use crate::analysis::Analysis;
use crate::mesh::{EffectiveConnections, MeshPorts, MeshView};
use netreach_model::PortSet;
use std::collections::HashMap;

/// One pair whose mesh verdict changed: what both layers leave open, before and after, on the
/// ports NetworkPolicy allows on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthzChange {
    pub src: String,
    pub dst: String,
    pub before: MeshPorts,
    pub after: MeshPorts,
}

/// `left` restricted to `ports`.
fn within(left: &MeshPorts, ports: &PortSet) -> MeshPorts {
    let mut custom = left.custom.clone();
    for c in &mut custom {
        c.ports = c.ports.intersection(ports);
    }
    custom.retain(|c| !c.ports.is_empty());
    MeshPorts { open: left.open.intersection(ports), custom }
}

/// Where an endpoint stands in one side's mesh layer: engine class, source side, destination
/// profile.
type MeshKey = (usize, u32, u32);

/// The mesh layer of one side, and where a shared endpoint stands in it.
struct Side<'v, 'a> {
    analysis: &'a Analysis,
    layer: EffectiveConnections<'v, 'a>,
}

impl Side<'_, '_> {
    fn key(&self, endpoint: usize) -> MeshKey {
        let reach = &self.analysis.reach;
        let (side, profile) = self.layer.view.authz_key(endpoint);
        (reach.class_of(reach.endpoint(endpoint)), side, profile)
    }

    /// What both layers leave of `src → dst`, with what NetworkPolicy allows.
    fn left(&self, src: usize, dst: usize) -> Option<(&PortSet, std::rc::Rc<MeshPorts>)> {
        let reach = &self.analysis.reach;
        let allowed = reach.class_allowed(reach.class_of(reach.endpoint(src)), reach.class_of(reach.endpoint(dst)))?;
        (!allowed.is_empty()).then(|| (allowed, self.layer.between(src, dst, allowed)))
    }
}

impl Diff<'_> {
    /// The id of a shared endpoint: the pod's, or the external atom's.
    fn shared_id(&self, k: usize) -> String {
        match k.checked_sub(self.common_pods) {
            Some(atom) => self.atoms[atom].id.clone(),
            None => self.after.id(self.shared[k].after),
        }
    }

    /// The pairs whose mesh verdict changed, in (source, destination) id order; empty when
    /// neither side has an AuthorizationPolicy.
    pub fn authz_changes(&self) -> Vec<AuthzChange> {
        let (b, a) = (self.before, self.after);
        if b.cluster.mesh.authorization_policies.is_empty() && a.cluster.mesh.authorization_policies.is_empty() {
            return Vec::new();
        }
        let (view_b, view_a) = (MeshView::new(b, b.mesh_options.clone()), MeshView::new(a, a.mesh_options.clone()));
        let before = Side { analysis: b, layer: EffectiveConnections::new(&view_b) };
        let after = Side { analysis: a, layer: EffectiveConnections::new(&view_a) };
        // Groups of shared endpoints both mesh layers treat alike.
        let mut group_of: HashMap<(MeshKey, MeshKey), usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (k, s) in self.shared.iter().enumerate() {
            let g = *group_of.entry((before.key(s.before), after.key(s.after))).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            members[g].push(k);
        }
        let mut out = Vec::new();
        for sources in &members {
            // Only pods are destinations: nothing enforces authorization at an external range.
            for targets in members.iter().filter(|m| !self.is_external(m[0] as u32)) {
                let Some(&src) = sources.first() else { continue };
                let Some(&dst) = targets.iter().find(|&&d| d != src).or(targets.first()) else { continue };
                if src == dst && sources.len() == 1 {
                    continue;
                }
                let (s, d) = (self.shared[src], self.shared[dst]);
                let (Some((np_b, left_b)), Some((np_a, left_a))) =
                    (before.left(s.before, d.before), after.left(s.after, d.after))
                else {
                    continue;
                };
                let both = np_b.intersection(np_a);
                let (was, is) = (within(&left_b, &both), within(&left_a, &both));
                if was == is {
                    continue;
                }
                for &src in sources {
                    for &dst in targets.iter().filter(|&&d| d != src) {
                        out.push(AuthzChange {
                            src: self.shared_id(src),
                            dst: self.shared_id(dst),
                            before: was.clone(),
                            after: is.clone(),
                        });
                    }
                }
            }
        }
        out.sort_by(|x, y| (&x.src, &x.dst).cmp(&(&y.src, &y.dst)));
        out
    }
}
