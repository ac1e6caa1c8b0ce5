#!/usr/bin/env python3
"""RBAC objects for a generated cluster, to time attack paths (`paths --from any`) on it.

    netreach generate --pods 150000 --policies 15000 --namespaces 1500 --seed 1 \
      --unisolated-namespaces 0.6 --ingress-only-namespaces 0.3 > dense.json
    bench/rbac_objects.py dense.json > rbac.json
    netreach paths --from any --to cluster-admin dense.json rbac.json -o json -q > /dev/null

Per namespace: Role `secret-reader` (get/list secrets) bound to ServiceAccount `default`; every
tenth namespace also binds ClusterRole `edit` (the default role: create pods, exec, read Secrets)
to `default`; one ClusterRoleBinding gives `kube-system/node-exporter` a wildcard ClusterRole.
Writes one JSON List on stdout. Python 3 standard library only.
"""

import json
import sys


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)["items"]
    namespaces = sorted({i["metadata"]["name"] for i in items if i["kind"] == "Namespace"})
    out = []
    rbac = "rbac.authorization.k8s.io/v1"
    out.append({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "everything"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    out.append({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "node-exporter-everything"},
                "subjects": [{"kind": "ServiceAccount", "name": "node-exporter", "namespace": "kube-system"}],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "everything"}})
    for k, ns in enumerate(namespaces):
        out.append({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "secret-reader", "namespace": ns},
                    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]})
        out.append({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "default-reads-secrets", "namespace": ns},
                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"}})
        if k % 10 == 0:
            out.append({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "default-edits", "namespace": ns},
                        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}})
    json.dump({"apiVersion": "v1", "kind": "List", "items": out}, sys.stdout)


if __name__ == "__main__":
    main()
