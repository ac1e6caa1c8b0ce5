#!/usr/bin/env python3
"""Cilium policies for a generated cluster, to time the engine with CNPs and CCNPs in it.

    netreach generate --pods 150000 --policies 15000 --namespaces 1500 --seed 1 \
      --unisolated-namespaces 0.6 --ingress-only-namespaces 0.3 > dense.json
    bench/cilium_policies.py dense.json > cilium.json
    netreach connectivity dense.json -o summary -q               # before (generic profile)
    netreach connectivity dense.json cilium.json -o summary -q   # after (Cilium profile)

Cluster-wide (CCNP, with enableDefaultDeny false both ways so they isolate nothing):
`deny-metadata` (egressDeny toCIDR 169.254.169.254/32 for every endpoint), `deny-world-ingress`
(ingressDeny fromEntities world) and `allow-dns` (toEndpoints kube-system k8s-app=kube-dns on 53).
Per team namespace (CNP):
- `same-team`: every endpoint admits the endpoints of namespaces with the same `team` label
  (`io.cilium.k8s.namespace.labels.team`), on any port;
- every second namespace, per app (at most 3): `APP-from-tier`: pods `app=APP` admit pods of the
  namespace with `tier` in (web, api) on 8080/TCP and 9000-9100/TCP (endPort);
- every fifth namespace, `egress-out`: pods with `tier` egress to the world except the metadata
  /32 (toCIDRSet), to kube-apiserver and to the namespace's own pods;
- every seventh namespace, `deny-db`: pods `tier=db` deny ingress from other namespaces on 5432.
Deterministic: the output depends only on the input file. One JSON List on stdout.
Python 3 standard library only.
"""

import json
import sys

CILIUM = "cilium.io/v2"
NS_LABEL = "k8s:io.kubernetes.pod.namespace"


def ccnp(name, spec):
    return {"apiVersion": CILIUM, "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": name}, "spec": spec}


def cnp(ns, name, spec):
    return {"apiVersion": CILIUM, "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)["items"]
    teams = {}
    for i in items:
        if i["kind"] == "Namespace" and i["metadata"]["name"] != "kube-system":
            teams[i["metadata"]["name"]] = i["metadata"].get("labels", {}).get("team")
    apps = {}
    for i in items:
        if i["kind"] == "Pod":
            ns = i["metadata"]["namespace"]
            app = i["metadata"].get("labels", {}).get("app")
            if ns in teams and app and app not in apps.setdefault(ns, []):
                apps[ns].append(app)
    no_default_deny = {"ingress": False, "egress": False}
    out = [
        ccnp("deny-metadata", {"endpointSelector": {}, "enableDefaultDeny": no_default_deny,
                               "egressDeny": [{"toCIDR": ["169.254.169.254/32"]}]}),
        ccnp("deny-world-ingress", {"endpointSelector": {}, "enableDefaultDeny": no_default_deny,
                                    "ingressDeny": [{"fromEntities": ["world"]}]}),
        ccnp("allow-dns", {"endpointSelector": {}, "enableDefaultDeny": no_default_deny,
                           "egress": [{"toEndpoints": [{"matchLabels": {NS_LABEL: "kube-system", "k8s-app": "kube-dns"}}],
                                       "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}]}),
    ]
    for k, ns in enumerate(sorted(teams)):
        team = teams[ns]
        if team:
            out.append(cnp(ns, "same-team", {
                "endpointSelector": {},
                "ingress": [{"fromEndpoints": [{"matchLabels": {"io.cilium.k8s.namespace.labels.team": team}}]}],
            }))
        if k % 2 == 0:
            for app in apps.get(ns, [])[:3]:
                out.append(cnp(ns, f"{app}-from-tier", {
                    "endpointSelector": {"matchLabels": {"app": app}},
                    "ingress": [{
                        "fromEndpoints": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}],
                        "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"},
                                               {"port": "9000", "endPort": 9100, "protocol": "TCP"}]}],
                    }],
                }))
        if k % 5 == 0:
            out.append(cnp(ns, "egress-out", {
                "endpointSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                "egress": [
                    {"toCIDRSet": [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}]},
                    {"toEntities": ["kube-apiserver"]},
                    {"toEndpoints": [{}]},
                ],
            }))
        if k % 7 == 0:
            out.append(cnp(ns, "deny-db", {
                "endpointSelector": {"matchLabels": {"tier": "db"}},
                "ingressDeny": [{
                    "fromEndpoints": [{"matchExpressions": [{"key": NS_LABEL, "operator": "NotIn", "values": [ns]}]}],
                    "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}],
                }],
            }))
    json.dump({"apiVersion": "v1", "kind": "List", "items": out}, sys.stdout)


if __name__ == "__main__":
    main()
