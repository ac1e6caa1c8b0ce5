#!/usr/bin/env python3
"""A generated cluster with Istio in it, to time the mesh layer (mTLS and AuthorizationPolicy).

    netreach generate --pods 150000 --policies 15000 --namespaces 1500 --seed 1 \
      --unisolated-namespaces 0.6 --ingress-only-namespaces 0.3 > dense.json
    bench/istio_policies.py dense.json > dense-istio.json   # [--not-restarted]
    netreach mesh dense-istio.json --level namespace -o json -q > /dev/null
    netreach connectivity dense-istio.json --mesh -o summary -q

Writes the input's objects again (one JSON List on stdout), with every second team namespace
labelled `istio-injection: enabled` (sidecars) and its running pods injected (an `istio-proxy`
container, as after a restart; `--not-restarted` leaves them without, so they stay outside the
mesh and no AuthorizationPolicy applies), plus `istio-system` with a mesh-wide
PeerAuthentication (PERMISSIVE), and per meshed namespace:
- `strict` PeerAuthentication (STRICT) in every fourth;
- `allow-team` ALLOW: sources in namespaces of the same team (`*-prod`, `*-staging`, `*-dev` of
  it), and the ingress gateway's principal;
- `deny-admin` DENY: every source not in the namespace, on ports 9090-9091 (`notNamespaces`, which
  plaintext sources match too);
- every third, `custom-ext` CUSTOM (provider `ext-authz`) on port 8443.
Deterministic. Python 3 standard library only.
"""

import json
import sys

SECURITY = "security.istio.io/v1"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    restarted = "--not-restarted" not in sys.argv[1:]
    with open(args[0]) as f:
        items = json.load(f)["items"]
    team_namespaces = sorted(i["metadata"]["name"] for i in items
                             if i["kind"] == "Namespace" and i["metadata"]["name"] != "kube-system")
    meshed = set(team_namespaces[::2])
    for i in items:
        if i["kind"] == "Namespace" and i["metadata"]["name"] in meshed:
            i["metadata"].setdefault("labels", {})["istio-injection"] = "enabled"
        if restarted and i["kind"] == "Pod" and i["metadata"].get("namespace") in meshed:
            i["spec"]["containers"].append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0"})
    out = list(items)
    out.append({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "istio-system", "labels": {"kubernetes.io/metadata.name": "istio-system"}}})
    out.append({"apiVersion": SECURITY, "kind": "PeerAuthentication",
                "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "PERMISSIVE"}}})
    for k, ns in enumerate(sorted(meshed)):
        team = ns.rsplit("-", 1)[0]
        if k % 4 == 0:
            out.append({"apiVersion": SECURITY, "kind": "PeerAuthentication",
                        "metadata": {"name": "strict", "namespace": ns}, "spec": {"mtls": {"mode": "STRICT"}}})
        out.append({"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
                    "metadata": {"name": "allow-team", "namespace": ns},
                    "spec": {"action": "ALLOW", "rules": [
                        {"from": [{"source": {"namespaces": [f"{team}-prod", f"{team}-staging", f"{team}-dev"]}}]},
                        {"from": [{"source": {"principals": ["cluster.local/ns/istio-system/sa/istio-ingressgateway"]}}]},
                    ]}})
        out.append({"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
                    "metadata": {"name": "deny-admin", "namespace": ns},
                    "spec": {"action": "DENY", "rules": [
                        {"from": [{"source": {"notNamespaces": [ns]}}], "to": [{"operation": {"ports": ["9090", "9091"]}}]},
                    ]}})
        if k % 3 == 0:
            out.append({"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
                        "metadata": {"name": "custom-ext", "namespace": ns},
                        "spec": {"action": "CUSTOM", "provider": {"name": "ext-authz"},
                                 "rules": [{"to": [{"operation": {"ports": ["8443"]}}]}]}})
    json.dump({"apiVersion": "v1", "kind": "List", "items": out}, sys.stdout)


if __name__ == "__main__":
    main()
