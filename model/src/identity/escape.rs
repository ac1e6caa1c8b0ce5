//! Container escapes: the pod settings that make whoever runs code in a container root on its
//! node. Each rule names its public source; Pod Security Standards' Baseline profile forbids
//! every one of them (<https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>),
//! and KubeHound's attack reference (<https://kubehound.io/reference/attacks/>) describes the
//! exploitation of each.

use crate::cluster::Pod;

/// Why a pod's container can take its node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escape {
    /// What in the spec allows it, e.g. `privileged container`.
    pub what: String,
    /// The public source describing the escape.
    pub source: &'static str,
}

impl Escape {
    /// `what (source)`, as paths print it.
    pub fn reason(&self) -> String {
        format!("{} ({})", self.what, self.source)
    }
}

const PRIV_MOUNT: &str = "KubeHound CE_PRIV_MOUNT; Pod Security Baseline: Privileged Containers";
const NSENTER: &str = "KubeHound CE_NSENTER and CE_SYS_PTRACE; Pod Security Baseline: Host Namespaces";
const SYS_ADMIN: &str =
    "cgroup release_agent escape, https://blog.trailofbits.com/2019/07/19/understanding-docker-container-escapes/; Pod Security Baseline: Capabilities";
const SYS_MODULE: &str = "KubeHound CE_MODULE_LOAD; Pod Security Baseline: Capabilities";

/// A host path that gives the node: the path, whether a read-only mount is enough, whether
/// mounts below it count too, and the source.
struct SensitivePath {
    path: &'static str,
    read_is_enough: bool,
    below_counts: bool,
    why: &'static str,
    source: &'static str,
}

/// The sensitive host paths. Mounting one of them or a folder holding one (`/var`, `/run`)
/// counts; `below_counts` paths count from inside too (`/etc/kubernetes` is under `/etc`).
const SENSITIVE_PATHS: &[SensitivePath] = &[
    SensitivePath {
        path: "/",
        read_is_enough: true,
        below_counts: false,
        why: "the node's root filesystem",
        source: "KubeHound EXPLOIT_HOST_READ, EXPLOIT_HOST_WRITE",
    },
    SensitivePath {
        path: "/etc",
        read_is_enough: false,
        below_counts: true,
        why: "the node's /etc (cron, ssh, kubelet configuration)",
        source: "KubeHound EXPLOIT_HOST_WRITE",
    },
    SensitivePath {
        path: "/etc/kubernetes",
        read_is_enough: true,
        below_counts: true,
        why: "the kubelet's credentials",
        source: "KubeHound EXPLOIT_HOST_READ",
    },
    SensitivePath {
        path: "/root",
        read_is_enough: false,
        below_counts: true,
        why: "root's home (ssh keys)",
        source: "KubeHound EXPLOIT_HOST_WRITE",
    },
    SensitivePath {
        path: "/proc",
        read_is_enough: false,
        below_counts: true,
        why: "the node's /proc (kernel.core_pattern runs a program as root)",
        source: "KubeHound CE_UMH_CORE_PATTERN",
    },
    SensitivePath {
        path: "/var/lib/kubelet",
        read_is_enough: true,
        below_counts: true,
        why: "the kubelet's state (its credentials and every pod's ServiceAccount token)",
        source: "KubeHound TOKEN_STEAL, EXPLOIT_HOST_READ",
    },
    SensitivePath {
        path: "/var/lib/docker",
        read_is_enough: false,
        below_counts: true,
        why: "the container runtime's state",
        source: "KubeHound EXPLOIT_HOST_WRITE",
    },
    SensitivePath {
        path: "/var/lib/containerd",
        read_is_enough: false,
        below_counts: true,
        why: "the container runtime's state",
        source: "KubeHound EXPLOIT_HOST_WRITE",
    },
    SensitivePath {
        path: "/var/log",
        read_is_enough: false,
        below_counts: false,
        why: "writable /var/log (the kubelet follows symlinks placed there)",
        source: "KubeHound CE_VAR_LOG_SYMLINK",
    },
    SensitivePath {
        path: "/var/run/docker.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the Docker socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
    SensitivePath {
        path: "/run/docker.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the Docker socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
    SensitivePath {
        path: "/var/run/containerd/containerd.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the containerd socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
    SensitivePath {
        path: "/run/containerd/containerd.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the containerd socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
    SensitivePath {
        path: "/var/run/crio/crio.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the CRI-O socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
    SensitivePath {
        path: "/run/crio/crio.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the CRI-O socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
    SensitivePath {
        path: "/var/run/cri-dockerd.sock",
        read_is_enough: true,
        below_counts: false,
        why: "the cri-dockerd socket",
        source: "KubeHound EXPLOIT_CONTAINERD_SOCK",
    },
];

/// `/a//b/` → `/a/b`; the root stays `/`.
fn normalized(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    format!("/{}", parts.join("/"))
}

/// Whether a mount of `mounted` exposes `sensitive`: the same path, a folder holding it, or
/// (when `below_counts`) a path inside it.
fn exposes(mounted: &str, sensitive: &SensitivePath) -> bool {
    let within =
        |inner: &str, outer: &str| outer == "/" || inner.strip_prefix(outer).is_some_and(|r| r.starts_with('/'));
    mounted == sensitive.path
        || within(sensitive.path, mounted)
        || (sensitive.below_counts && within(mounted, sensitive.path))
}

/// How the pod's containers can take its node, the first rule that applies, or `None`.
pub fn escape(pod: &Pod) -> Option<Escape> {
    let posture = &pod.posture;
    let has = |cap: &str| posture.added_capabilities.iter().any(|c| c == cap || c == "ALL");
    if pod.privileged {
        return Some(Escape { what: "privileged container".into(), source: PRIV_MOUNT });
    }
    if posture.host_pid && has("SYS_PTRACE") {
        return Some(Escape { what: "hostPID with SYS_PTRACE".into(), source: NSENTER });
    }
    if has("SYS_ADMIN") {
        return Some(Escape { what: "SYS_ADMIN capability".into(), source: SYS_ADMIN });
    }
    if has("SYS_MODULE") {
        return Some(Escape { what: "SYS_MODULE capability (loads kernel modules)".into(), source: SYS_MODULE });
    }
    for mount in &posture.host_paths {
        let path = normalized(&mount.path);
        let hit = SENSITIVE_PATHS.iter().find(|s| (s.read_is_enough || !mount.read_only) && exposes(&path, s));
        if let Some(s) = hit {
            let access = if mount.read_only { "read-only" } else { "writable" };
            return Some(Escape { what: format!("{access} hostPath {path}: {}", s.why), source: s.source });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::HostPathMount;
    use crate::labels::Labels;

    fn pod_with(edit: impl FnOnce(&mut Pod)) -> Option<String> {
        let mut pod = Pod::new("ns", "p", Labels::new());
        edit(&mut pod);
        escape(&pod).map(|e| e.what)
    }

    fn mount(path: &str, read_only: bool) -> impl FnOnce(&mut Pod) {
        let path = path.to_string();
        move |p: &mut Pod| p.posture.host_paths.push(HostPathMount { path, read_only })
    }

    #[test]
    fn each_rule_and_its_limits() {
        assert_eq!(pod_with(|_| {}), None);
        assert_eq!(pod_with(|p| p.privileged = true).as_deref(), Some("privileged container"));
        assert_eq!(pod_with(|p| p.posture.host_pid = true), None, "hostPID alone is not an escape");
        assert_eq!(
            pod_with(|p| p.posture.added_capabilities.push("SYS_PTRACE".into())),
            None,
            "SYS_PTRACE needs hostPID"
        );
        assert!(pod_with(|p| {
            p.posture.host_pid = true;
            p.posture.added_capabilities.push("SYS_PTRACE".into());
        })
        .is_some());
        assert!(pod_with(|p| p.posture.added_capabilities.push("SYS_ADMIN".into())).is_some());
        assert!(pod_with(|p| p.posture.added_capabilities.push("SYS_MODULE".into())).is_some());
        assert!(pod_with(|p| p.posture.added_capabilities.push("NET_ADMIN".into())).is_none());
        assert!(pod_with(mount("/var/run/docker.sock", true)).is_some(), "a socket read-only is still a socket");
        assert!(pod_with(mount("/var/run", true)).is_some(), "a folder holding the socket");
        assert!(pod_with(mount("/", true)).is_some());
        assert!(pod_with(mount("/etc/", false)).is_some());
        assert!(pod_with(mount("/etc/ssl/certs", true)).is_none(), "read-only certificates");
        assert!(pod_with(mount("/etc/cron.d", false)).is_some());
        assert!(pod_with(mount("/var/lib/kubelet/pods", true)).is_some());
        assert!(pod_with(mount("/var/log", true)).is_none(), "read-only /var/log");
        assert!(pod_with(mount("/var/log", false)).is_some());
        assert!(pod_with(mount("/var/log/pods", false)).is_none(), "below /var/log: no symlink escape");
        assert!(pod_with(mount("/data", false)).is_none());
        assert!(pod_with(mount("/var", false)).is_some(), "/var holds /var/lib/kubelet");
    }
}
