#!/usr/bin/env python3
"""Adds Services to a `netreach generate` cluster, for timing `netreach exposure` on it.

    bench/with-services.py < cluster.json > with-services.json

One Service per (namespace, app label): every third a LoadBalancer (externalTrafficPolicy
alternating Cluster and Local), every third a NodePort, the rest ClusterIP; the port is the
first container port of the app's first pod, the targetPort its name when it has one. Python 3
standard library only.
"""

import json
import sys

cluster = json.load(sys.stdin)
seen = {}
for item in cluster["items"]:
    if item["kind"] != "Pod":
        continue
    meta = item["metadata"]
    app = meta.get("labels", {}).get("app")
    ports = [p for c in item["spec"].get("containers", []) for p in c.get("ports", [])]
    if app and ports and (meta["namespace"], app) not in seen:
        seen[(meta["namespace"], app)] = ports[0]
services = []
for n, ((namespace, app), port) in enumerate(sorted(seen.items())):
    kind = ["LoadBalancer", "NodePort", "ClusterIP"][n % 3]
    spec = {
        "type": kind,
        "selector": {"app": app},
        "ports": [{"port": port["containerPort"], "targetPort": port.get("name", port["containerPort"]),
                   "protocol": port.get("protocol", "TCP")}],
    }
    if kind == "LoadBalancer":
        spec["externalTrafficPolicy"] = "Cluster" if n % 2 else "Local"
    services.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": app, "namespace": namespace}, "spec": spec})
cluster["items"].extend(services)
json.dump(cluster, sys.stdout)
