#!/usr/bin/env python3
"""Calico tiers, policies and network sets for a generated cluster, to time the Calico profile.

    netreach generate --pods 150000 --policies 15000 --namespaces 1500 --seed 1 \
      --unisolated-namespaces 0.6 --ingress-only-namespaces 0.3 > dense.json
    bench/calico_policies.py dense.json > calico.json
    netreach connectivity dense.json calico.json -o summary
    netreach audit dense.json calico.json -o json -q > /dev/null

What it writes, as one JSON List on stdout (projectcalico.org/v3), in this order:
- Tiers `security` (order 100) and `platform` (order 200); policies without a tier go to
  Calico's `default` tier, with the Kubernetes NetworkPolicies.
- GlobalNetworkSets `threat-feed` (label threat-feed=bad) and `offices` (role=office).
- GlobalNetworkPolicies in `security`: `security.block-metadata` (every pod: Deny egress to
  169.254.169.254), `security.threats` (Deny to and from the threat feed) and
  `security.pass-rest` (Pass both ways, last); in `platform`: `platform.dns` (every pod: Allow
  UDP and TCP 53 to kube-dns in kube-system, then Pass) and `platform.node-scrape` (Allow TCP
  9100 from the node network, then Pass).
- Per team namespace, Calico NetworkPolicies in the default tier: `data-guard` (tier data and
  cache: Deny from web, Allow 5432/6379 from api and workers, Allow 9100 from the nodes, Deny),
  `api-in` (api pods with a version: Allow 8080:8090 and 9090 from web or the team's pods in the
  team's namespaces, Allow 9100 from any pod with an app label); every seventh namespace also
  `worker-out` (workers: Allow 443 to the internet but the pod network, Allow to the team's
  namespaces, Deny), and every fiftieth a NetworkSet `partners` that `api-in` admits.
Deterministic: no randomness, namespaces in name order. Python 3 standard library only.
"""

import json
import sys

V3 = "projectcalico.org/v3"


def tier(name, order):
    return {"apiVersion": V3, "kind": "Tier", "metadata": {"name": name}, "spec": {"order": order}}


def global_set(name, labels, nets):
    return {"apiVersion": V3, "kind": "GlobalNetworkSet", "metadata": {"name": name, "labels": labels},
            "spec": {"nets": nets}}


def gnp(name, spec):
    return {"apiVersion": V3, "kind": "GlobalNetworkPolicy", "metadata": {"name": name}, "spec": spec}


def np(namespace, name, spec):
    return {"apiVersion": V3, "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def cluster_wide():
    out = [
        tier("security", 100),
        tier("platform", 200),
        global_set("threat-feed", {"threat-feed": "bad"}, ["198.51.100.0/28", "203.0.113.128/25"]),
        global_set("offices", {"role": "office"}, ["192.0.2.0/24", "100.64.10.0/24"]),
    ]
    out.append(gnp("security.block-metadata", {
        "tier": "security", "order": 10, "selector": "all()", "types": ["Egress"],
        "egress": [{"action": "Deny", "destination": {"nets": ["169.254.169.254/32"]}}],
    }))
    out.append(gnp("security.threats", {
        "tier": "security", "order": 20, "selector": "all()", "types": ["Ingress", "Egress"],
        "ingress": [{"action": "Deny", "source": {"selector": "threat-feed == 'bad'"}}],
        "egress": [{"action": "Deny", "destination": {"selector": "threat-feed == 'bad'"}}],
    }))
    # The tier's last policy hands the rest on (a Pass in the first one would end the tier there).
    out.append(gnp("security.pass-rest", {
        "tier": "security", "order": 1000, "selector": "all()", "types": ["Ingress", "Egress"],
        "ingress": [{"action": "Pass"}], "egress": [{"action": "Pass"}],
    }))
    dns_peer = {"selector": "k8s-app == 'kube-dns'", "namespaceSelector": "projectcalico.org/name == 'kube-system'",
                "ports": [53]}
    out.append(gnp("platform.dns", {
        "tier": "platform", "order": 10, "selector": "all()", "types": ["Egress"],
        "egress": [
            {"action": "Allow", "protocol": "UDP", "destination": dns_peer},
            {"action": "Allow", "protocol": "TCP", "destination": dns_peer},
            {"action": "Pass"},
        ],
    }))
    out.append(gnp("platform.node-scrape", {
        "tier": "platform", "order": 20, "selector": "has(app)", "types": ["Ingress"],
        "ingress": [
            {"action": "Allow", "protocol": "TCP", "source": {"nets": ["192.168.0.0/16"]},
             "destination": {"ports": [9100]}},
            {"action": "Pass"},
        ],
    }))
    return out


def per_namespace(k, ns, team):
    team_namespaces = f"team == '{team}'"
    out = [np(ns, "data-guard", {
        "order": 100, "selector": "tier in {'data', 'cache'}", "types": ["Ingress"],
        "ingress": [
            {"action": "Deny", "source": {"selector": "tier == 'web'"}},
            {"action": "Allow", "protocol": "TCP", "source": {"selector": "tier in {'api', 'worker'}"},
             "destination": {"ports": [5432, 6379]}},
            {"action": "Allow", "protocol": "TCP", "source": {"nets": ["192.168.0.0/16"]},
             "destination": {"ports": [9100]}},
            {"action": "Deny"},
        ],
    })]
    api_sources = [
        {"action": "Allow", "protocol": "TCP",
         "source": {"selector": f"tier == 'web' || team == '{team}'", "namespaceSelector": team_namespaces},
         "destination": {"ports": ["8080:8090", 9090]}},
        {"action": "Allow", "protocol": "TCP", "source": {"selector": "has(app)"}, "destination": {"ports": [9100]}},
    ]
    if k % 50 == 0:
        out.append({"apiVersion": V3, "kind": "NetworkSet",
                    "metadata": {"name": "partners", "namespace": ns, "labels": {"role": "partner"}},
                    "spec": {"nets": [f"198.18.{k % 256}.0/24"]}})
        api_sources.append({"action": "Allow", "protocol": "TCP", "source": {"selector": "role == 'partner'"},
                            "destination": {"ports": [8080]}})
    out.append(np(ns, "api-in", {
        "order": 200, "selector": "tier == 'api' && has(version)", "types": ["Ingress"], "ingress": api_sources,
    }))
    if k % 7 == 0:
        out.append(np(ns, "worker-out", {
            "order": 300, "selector": "tier == 'worker'", "types": ["Egress"],
            "egress": [
                {"action": "Allow", "protocol": "TCP",
                 "destination": {"nets": ["0.0.0.0/0"], "notNets": ["10.0.0.0/8"], "ports": [443]}},
                {"action": "Allow", "destination": {"namespaceSelector": team_namespaces}},
                {"action": "Deny"},
            ],
        }))
    return out


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)["items"]
    teams = sorted((i["metadata"]["name"], i["metadata"]["labels"]["team"]) for i in items
                   if i["kind"] == "Namespace" and "team" in i["metadata"].get("labels", {}))
    out = cluster_wide()
    for k, (ns, team) in enumerate(teams):
        out.extend(per_namespace(k, ns, team))
    json.dump({"apiVersion": "v1", "kind": "List", "items": out}, sys.stdout)


if __name__ == "__main__":
    main()
