//! A loaded cluster together with its computed reachability: what every query starts from.

use netreach_model::mesh::MeshOptions;
use netreach_model::{Cluster, Endpoint, EngineOptions, Pod, Reachability};

pub struct Analysis {
    pub cluster: Cluster,
    pub reach: Reachability,
    /// The engine options `reach` was computed with: queries that recompute or explain a
    /// verdict (the audit) read them here rather than being handed a second copy.
    pub engine_options: EngineOptions,
    /// How the service meshes are read (Istio root namespace, Linkerd default policy): every
    /// mesh view of this analysis (`mesh`, the audit's NR1xx findings, `mtls` invariants).
    pub mesh_options: MeshOptions,
}

impl Analysis {
    /// Computes reachability; the meshes are read with [`MeshOptions::default`] until
    /// [`with_mesh_options`](Self::with_mesh_options) says otherwise.
    pub fn new(cluster: Cluster, options: &EngineOptions) -> Analysis {
        let reach = Reachability::compute(&cluster, options);
        Analysis { cluster, reach, engine_options: *options, mesh_options: MeshOptions::default() }
    }

    /// The same analysis, reading the meshes with `mesh_options` (they do not change reachability).
    pub fn with_mesh_options(self, mesh_options: MeshOptions) -> Analysis {
        Analysis { mesh_options, ..self }
    }

    /// The stable id of an endpoint: `namespace/name` for pods, `external:<cidrs>` for ranges.
    pub fn id(&self, index: usize) -> String {
        match self.reach.endpoint(index) {
            Endpoint::Pod(i) => self.cluster.pods[i as usize].id(),
            Endpoint::External(i) => self.reach.externals()[i as usize].id.clone(),
        }
    }

    /// The endpoint with this id (`namespace/name` or `external:…`).
    pub fn find(&self, id: &str) -> Option<usize> {
        if let Some((ns, name)) = id.split_once('/').filter(|_| !id.starts_with("external:")) {
            let i = self
                .cluster
                .pods
                .binary_search_by(|p| (p.namespace.as_str(), p.name.as_str()).cmp(&(ns, name)))
                .ok()
                .or_else(|| self.cluster.pods.iter().position(|p| p.namespace == ns && p.name == name))?;
            return Some(self.reach.index_of(Endpoint::Pod(i as u32)));
        }
        let e = self.reach.externals().iter().position(|e| e.id == id)?;
        Some(self.reach.index_of(Endpoint::External(e as u32)))
    }

    /// The external range an address outside the pods falls in.
    pub fn external_containing(&self, ip: std::net::IpAddr) -> Option<usize> {
        let e = self.reach.externals().iter().position(|e| e.ranges.contains(&ip))?;
        Some(self.reach.index_of(Endpoint::External(e as u32)))
    }

    pub fn pod(&self, index: usize) -> Option<&Pod> {
        match self.reach.endpoint(index) {
            Endpoint::Pod(i) => Some(&self.cluster.pods[i as usize]),
            Endpoint::External(_) => None,
        }
    }

    /// A name for people: the id, with the workload when the pod belongs to one, and external
    /// ranges spelled out with their exceptions.
    pub fn display_name(&self, index: usize) -> String {
        match self.reach.endpoint(index) {
            Endpoint::Pod(i) => {
                let pod = &self.cluster.pods[i as usize];
                match &pod.workload {
                    Some(w) if pod.synthesized => format!("{} [{}]", pod.id(), w.kind),
                    Some(w) => format!("{} [{}]", pod.id(), w),
                    None => pod.id(),
                }
            }
            Endpoint::External(i) => self.reach.externals()[i as usize].to_string(),
        }
    }
}
