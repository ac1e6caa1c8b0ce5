//! The audit's check registry: every NR0xx, NR2xx and NR3xx check's id, name, severity and summary, defined once.
//! Findings name their check through these constants; nothing else spells an id.

use crate::findings::{Check, Severity};

pub const NO_DEFAULT_DENY_INGRESS: Check = Check {
    id: "NR001",
    name: "namespace-without-default-deny-ingress",
    severity: Severity::Medium,
    summary: "a namespace with pods where no policy selects every pod (podSelector: {}) for Ingress",
};
pub const NO_DEFAULT_DENY_EGRESS: Check = Check {
    id: "NR002",
    name: "namespace-without-default-deny-egress",
    severity: Severity::Low,
    summary: "a namespace with pods where no policy selects every pod (podSelector: {}) for Egress",
};
pub const PODS_WITHOUT_INGRESS_POLICY: Check = Check {
    id: "NR003",
    name: "pods-without-ingress-policy",
    severity: Severity::Medium,
    summary: "pods that no policy selects for Ingress, counted per namespace (hostNetwork pods are NR005/NR006)",
};
pub const PODS_WITHOUT_EGRESS_POLICY: Check = Check {
    id: "NR004",
    name: "pods-without-egress-policy",
    severity: Severity::Low,
    summary: "pods that no policy selects for Egress, counted per namespace (hostNetwork pods are NR005/NR006)",
};
pub const HOST_NETWORK_POD: Check = Check {
    id: "NR005",
    name: "host-network-pod",
    severity: Severity::Medium,
    summary: "a workload with hostNetwork pods: NetworkPolicy does not restrict them",
};
pub const PRIVILEGED_HOST_NETWORK_POD: Check = Check {
    id: "NR006",
    name: "privileged-host-network-pod",
    severity: Severity::High,
    summary: "a workload with privileged hostNetwork pods",
};
pub const REACHABLE_FROM_INTERNET: Check = Check {
    id: "NR007",
    name: "pod-reachable-from-internet",
    severity: Severity::Medium,
    summary: "pods that traffic from outside reaches through an entry point (LoadBalancer, NodePort or externalIP Service, Ingress, Gateway, hostPort, hostNetwork) whose every hop policy admits, with the ports, per namespace",
};
pub const EGRESS_TO_INTERNET_ALL_PORTS: Check = Check {
    id: "NR008",
    name: "egress-to-internet-all-ports",
    severity: Severity::High,
    summary: "an egress rule to 0.0.0.0/0 or ::/0 on every port, or without peers (every destination: the internet and every namespace)",
};
pub const CROSS_NAMESPACE_ALLOW_ALL: Check = Check {
    id: "NR009",
    name: "cross-namespace-allow-all",
    severity: Severity::High,
    summary: "a rule allowing every pod of every namespace on every port (namespaceSelector: {} without a narrower podSelector, or an ingress rule without peers); egress rules without peers are NR008",
};
pub const KUBE_SYSTEM_BEYOND_DNS: Check = Check {
    id: "NR010",
    name: "kube-system-reachable-beyond-dns",
    severity: Severity::High,
    summary: "pods of another namespace that can reach kube-system pods on ports other than 53/UDP and 53/TCP",
};
pub const POLICY_SELECTS_NO_POD: Check = Check {
    id: "NR011",
    name: "policy-selects-no-pod",
    severity: Severity::Low,
    summary: "a policy whose podSelector selects no pod",
};
pub const PEER_MATCHES_NOTHING: Check = Check {
    id: "NR012",
    name: "rule-peer-matches-nothing",
    severity: Severity::Low,
    summary: "a rule peer that matches no pod and no address: it allows nothing",
};
pub const NAMED_PORT_UNRESOLVED: Check = Check {
    id: "NR013",
    name: "named-port-unresolved",
    severity: Severity::Low,
    summary: "a named port that no destination pod of the rule declares: it allows nothing",
};
pub const EXCEPT_OUTSIDE_CIDR: Check = Check {
    id: "NR014",
    name: "ipblock-except-outside-cidr",
    severity: Severity::Medium,
    summary: "an ipBlock except entry that is not a strict subset of its cidr (the API server rejects it; it excludes nothing)",
};

pub const SHADOWED_TIER_RULE: Check = Check {
    id: "NR015",
    name: "cluster-policy-rule-shadowed",
    severity: Severity::Low,
    summary:
        "a cluster-scoped policy rule that never decides: rules of higher precedence in its tier always match first",
};
pub const SAME_PRIORITY_CONFLICT: Check = Check {
    id: "NR016",
    name: "cluster-policy-same-priority-conflict",
    severity: Severity::High,
    summary: "two cluster-scoped policies of one tier share a priority and overlap with different actions: upstream leaves undefined which applies",
};

pub const REACHES_CLOUD_METADATA: Check = Check {
    id: "NR017",
    name: "pod-reaches-cloud-metadata",
    severity: Severity::High,
    summary: "pods that can reach the cloud instance metadata service (node credentials), per namespace (hostNetwork pods are NR005)",
};
pub const APISERVER_WITHOUT_TOKEN: Check = Check {
    id: "NR018",
    name: "tokenless-pod-reaches-kube-apiserver",
    severity: Severity::Medium,
    summary: "pods that mount no ServiceAccount token (automountServiceAccountToken: false) yet can reach the kube-apiserver, per namespace",
};
pub const REACHES_KUBELET: Check = Check {
    id: "NR019",
    name: "pod-reaches-kubelet",
    severity: Severity::High,
    summary: "pods that can reach the kubelet API (TCP 10250 on the nodes' InternalIPs), per namespace",
};
pub const REACHES_ETCD: Check = Check {
    id: "NR020",
    name: "pod-reaches-etcd",
    severity: Severity::High,
    summary: "pods that can reach etcd (TCP 2379-2380), per namespace",
};
pub const ADMITTED_BUT_NOT_EXPOSED: Check = Check {
    id: "NR021",
    name: "internet-admitted-not-exposed",
    severity: Severity::Low,
    summary: "pods whose ingress policy admits external ranges on ports that no entry point delivers to, per namespace: open in policy, not reachable today",
};
pub const PUBLISHED_SERVICE_POLICY_CLOSES: Check = Check {
    id: "NR022",
    name: "published-service-closed-by-policy",
    severity: Severity::Low,
    summary: "a LoadBalancer, NodePort or externalIP Service whose backends' policies admit none of the sources it delivers (the node address under externalTrafficPolicy: Cluster)",
};

pub const CILIUM_INGRESS_FROM_WORLD: Check = Check {
    id: "NR221",
    name: "cilium-ingress-from-world",
    severity: Severity::High,
    summary: "a Cilium ingress allow rule with fromEntities world, world-ipv4, world-ipv6 or all: any internet address may connect",
};
pub const CILIUM_EGRESS_TO_WORLD_ALL_PORTS: Check = Check {
    id: "NR222",
    name: "cilium-egress-to-world-all-ports",
    severity: Severity::High,
    summary: "a Cilium egress allow rule with toEntities world, world-ipv4, world-ipv6 or all and no toPorts",
};
pub const CILIUM_DENY_OVERLAPS_NO_ALLOW: Check = Check {
    id: "NR223",
    name: "cilium-deny-overlaps-no-allow",
    severity: Severity::Low,
    summary: "a Cilium deny rule that no allow of any layer overlaps: it denies nothing",
};
pub const CILIUM_DEFAULT_DENY_DISABLED: Check = Check {
    id: "NR224",
    name: "cilium-default-deny-disabled-leaves-open",
    severity: Severity::Medium,
    summary: "a Cilium policy with allow rules and enableDefaultDeny false for their direction, selecting pods nothing else isolates: the rules restrict nothing",
};

pub const INTERNET_TO_CLUSTER_ADMIN: Check = Check {
    id: "NR301",
    name: "internet-to-cluster-admin",
    severity: Severity::High,
    summary: "an attack path from an external range to cluster-admin (network, escapes, tokens, RBAC), with its first and last step",
};
pub const INTERNET_TO_NODES: Check = Check {
    id: "NR302",
    name: "internet-to-node",
    severity: Severity::High,
    summary:
        "an attack path from an external range to root on a node, to the nearest one, with how many nodes are reached",
};
pub const INTERNET_TO_SECRETS: Check = Check {
    id: "NR303",
    name: "internet-to-secrets",
    severity: Severity::High,
    summary: "an attack path from an external range to every Secret of a namespace (secrets/NS), per namespace",
};
pub const MOUNTED_CLUSTER_ADMIN: Check = Check {
    id: "NR304",
    name: "cluster-admin-token-mounted",
    severity: Severity::High,
    summary: "a ServiceAccount with cluster-admin-equivalent RBAC power whose token pods mount",
};
pub const ESCAPE_REACHED_ACROSS_NAMESPACES: Check = Check {
    id: "NR305",
    name: "escape-pod-reachable-across-namespaces",
    severity: Severity::Medium,
    summary: "a pod that can take its node (privileged, host namespaces, sensitive hostPath, capabilities) reachable from pods of other namespaces",
};

pub const CALICO_SHADOWED_RULE: Check = Check {
    id: "NR201",
    name: "calico-rule-shadowed",
    severity: Severity::Low,
    summary: "a Calico rule that never decides: an earlier rule of its policy, or an earlier policy of its tier selecting all its endpoints, has a rule matching every connection",
};
pub const CALICO_PASS_TO_PROFILE: Check = Check {
    id: "NR202",
    name: "calico-pass-to-profile",
    severity: Severity::Medium,
    summary: "a Calico Pass rule after which no tier has a policy for its direction: what it passes is allowed by the profile",
};
pub const CALICO_LOG_ONLY_POLICY: Check = Check {
    id: "NR203",
    name: "calico-log-only-policy",
    severity: Severity::Low,
    summary: "a Calico policy whose rules only Log: it decides nothing but makes its tier apply, so its tier's default action (end-of-tier drop) meets the traffic",
};
pub const CALICO_END_OF_TIER_DROP: Check = Check {
    id: "NR204",
    name: "calico-end-of-tier-drop-isolates",
    severity: Severity::Medium,
    summary: "pods a Calico tier applies to that it lets nothing through for, with no rule denying it all and no rule-less default-deny policy: its implicit end-of-tier drop denies what later tiers or the profile would allow, per tier, direction and namespace",
};

/// Every check, in id order.
pub const CHECKS: [Check; 35] = [
    NO_DEFAULT_DENY_INGRESS,
    NO_DEFAULT_DENY_EGRESS,
    PODS_WITHOUT_INGRESS_POLICY,
    PODS_WITHOUT_EGRESS_POLICY,
    HOST_NETWORK_POD,
    PRIVILEGED_HOST_NETWORK_POD,
    REACHABLE_FROM_INTERNET,
    EGRESS_TO_INTERNET_ALL_PORTS,
    CROSS_NAMESPACE_ALLOW_ALL,
    KUBE_SYSTEM_BEYOND_DNS,
    POLICY_SELECTS_NO_POD,
    PEER_MATCHES_NOTHING,
    NAMED_PORT_UNRESOLVED,
    EXCEPT_OUTSIDE_CIDR,
    SHADOWED_TIER_RULE,
    SAME_PRIORITY_CONFLICT,
    REACHES_CLOUD_METADATA,
    APISERVER_WITHOUT_TOKEN,
    REACHES_KUBELET,
    REACHES_ETCD,
    ADMITTED_BUT_NOT_EXPOSED,
    PUBLISHED_SERVICE_POLICY_CLOSES,
    CALICO_SHADOWED_RULE,
    CALICO_PASS_TO_PROFILE,
    CALICO_LOG_ONLY_POLICY,
    CALICO_END_OF_TIER_DROP,
    CILIUM_INGRESS_FROM_WORLD,
    CILIUM_EGRESS_TO_WORLD_ALL_PORTS,
    CILIUM_DENY_OVERLAPS_NO_ALLOW,
    CILIUM_DEFAULT_DENY_DISABLED,
    INTERNET_TO_CLUSTER_ADMIN,
    INTERNET_TO_NODES,
    INTERNET_TO_SECRETS,
    MOUNTED_CLUSTER_ADMIN,
    ESCAPE_REACHED_ACROSS_NAMESPACES,
];
