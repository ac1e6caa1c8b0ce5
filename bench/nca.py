#!/usr/bin/env python3
"""Side by side with network-config-analyzer (PyPI `network-config-analyzer`, the `nca` command).

Used by `bench/run --with-nca`; also runnable alone on one manifest file:

    bench/nca.py CLUSTER.json [--netreach target/release/netreach] [--timeout 300]

What it does (python3 standard library only):

- `ensure_nca()` installs nca 2.1.0 into a virtualenv under `target/bench-venv` when it is
  missing (`python3 -m venv`, then `pip install network-config-analyzer==2.1.0`), and returns
  the path of its `nca` command, or None with the reason when that fails.
- `run_nca()` runs the connectivity map the way nca's README documents it,
      nca --connectivity -r FILE -o txt_no_fw_rules --output_endpoints pods -f OUT
  (`txt_no_fw_rules` prints one line per connected pair, "SRC => DST : CONNECTIONS", without
  nca's rule minimisation; `--output_endpoints pods` names pods rather than deployments)
  under `/usr/bin/time -f '%e %M'` and a timeout that kills nca's whole process group.
- `compare()` reads netreach's `-o json` and nca's listing and compares:
    * pod pairs: the sets of ordered (source pod, destination pod) pairs with anything allowed;
    * ports: for the pod pairs both allow, the allowed ports per protocol (TCP, UDP, SCTP);
    * pod <-> outside: for each pod and direction, the set of IPv4 addresses outside the
      cluster it may talk to (on any port), as interval sets, since the two tools cut the
      address space into ranges differently.
  It reports agree/disagree counts and a few examples of each kind of disagreement.
"""

import argparse
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

NCA_VERSION = "2.1.0"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, "target", "bench-venv")
PROTOCOLS = ("TCP", "UDP", "SCTP")
ALL_PORTS = ((1, 65535),)


def ensure_nca(log=sys.stderr):
    """Path of the venv's `nca`, installing it if needed; (None, reason) when that fails."""
    nca = os.path.join(VENV, "bin", "nca")
    if os.path.exists(nca):
        return nca, None
    print(f"installing network-config-analyzer=={NCA_VERSION} into {VENV} ...", file=log, flush=True)
    try:
        if not os.path.exists(os.path.join(VENV, "bin", "python")):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True, capture_output=True, text=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", f"network-config-analyzer=={NCA_VERSION}"],
                       check=True, capture_output=True, text=True, timeout=900)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip().splitlines()[-3:]
        return None, f"could not install nca: {' '.join(e.cmd)} failed: {' | '.join(tail)}"
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"could not install nca: {e}"
    if not os.path.exists(nca):
        return None, f"pip installed network-config-analyzer but {nca} is missing"
    return nca, None


def timed(cmd, stdout=subprocess.DEVNULL, timeout=None):
    """Runs cmd under /usr/bin/time -f '%e %M' in its own process group.

    Returns (returncode, wall seconds, peak RSS KiB, stderr text); returncode None on timeout
    (the whole group is killed; the time is then the timeout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf, tempfile.TemporaryFile("w+") as err:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", tf.name] + list(cmd)
        started = time.monotonic()
        p = subprocess.Popen(full, stdout=stdout, stderr=err, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return None, time.monotonic() - started, None, ""
        err.seek(0)
        errtext = err.read()
        fields = tf.read().split()
        # /usr/bin/time writes "Command exited with non-zero status N" first when rc != 0.
        try:
            secs, kib = float(fields[-2]), int(fields[-1])
        except (IndexError, ValueError):
            secs, kib = time.monotonic() - started, None
        return rc, secs, kib, errtext


def run_nca(nca, cluster_file, out_file, timeout):
    """Runs nca's connectivity map; returns a dict with status, seconds, rss_kib, message."""
    cmd = [nca, "--connectivity", "-r", cluster_file, "-o", "txt_no_fw_rules", "--output_endpoints", "pods",
           "-f", out_file]
    rc, secs, kib, err = timed(cmd, timeout=timeout)
    if rc is None:
        return {"status": "timeout", "seconds": secs, "rss_kib": None, "message": f"killed after {timeout} s", "cmd": cmd}
    # nca's exit code is the query result (0/1) plus output comparison bits; 4-7: not executed.
    if rc >= 4 or not os.path.exists(out_file):
        lines = [l for l in err.splitlines() if l.strip() and "Warning" not in l]
        return {"status": "failed", "seconds": secs, "rss_kib": kib, "message": f"exit {rc}: " + " | ".join(lines[-3:]), "cmd": cmd}
    return {"status": "ok", "seconds": secs, "rss_kib": kib, "message": "", "cmd": cmd}


# ----- reading the two outputs -------------------------------------------------------------

def merge(ranges):
    out = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def subtract(ranges, cut):
    out = []
    for lo, hi in ranges:
        for clo, chi in cut:
            if chi < lo or clo > hi:
                continue
            if clo > lo:
                out.append((lo, clo - 1))
            lo = chi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return merge(out)


def cidr_range(text):
    n = ipaddress.ip_network(text, strict=False)
    return n.version, (int(n.network_address), int(n.broadcast_address))


def parse_nca_connections(text):
    """'All connections' or '{protocols:TCP, UDP,dst_ports:53},{protocols:SCTP}' -> {proto: ranges}."""
    text = text.strip()
    if text.startswith("All connections"):
        return {p: ALL_PORTS for p in PROTOCOLS}
    if text in ("", "No connections"):
        return {}
    allowed = {}
    for part in re.findall(r"\{([^{}]*)\}", text):
        m = re.match(r"protocols:(.*?)(?:,dst_ports:(.*))?$", part.strip())
        if not m:
            raise ValueError(f"unrecognised nca connection set: {part!r}")
        protos = [p.strip().upper() for p in m.group(1).split(",") if p.strip()]
        if m.group(2) is None:
            ports = ALL_PORTS
        else:
            ports = []
            for item in m.group(2).split(","):
                item = item.strip()
                if "-" in item:
                    lo, hi = item.split("-")
                    ports.append((int(lo), int(hi)))
                else:
                    ports.append((int(item), int(item)))
            ports = merge(ports)
        for p in protos:
            if p in PROTOCOLS:  # ICMP and others: netreach speaks of TCP, UDP, SCTP only
                allowed[p] = merge(allowed.get(p, ()) + tuple(ports))
    return allowed


def parse_ip_endpoint(name):
    """nca names outside endpoints 'a.b.c.d-e.f.g.h' or 'a.b.c.d/n'; -> (version, (lo, hi)) or None."""
    try:
        if "-" in name:
            lo, hi = name.split("-", 1)
            lo, hi = ipaddress.ip_address(lo), ipaddress.ip_address(hi)
            return lo.version, (int(lo), int(hi))
        return cidr_range(name)
    except ValueError:
        return None


def read_nca(out_file, pods):
    """nca's txt_no_fw_rules listing -> (pairs {(src, dst): {proto: ranges}}, ext {(pod, dir): ranges}, unknown)."""
    pairs, ext, unknown = {}, {}, []
    line_re = re.compile(r"^(\S+) => (\S+) : (.*)$")
    with open(out_file) as f:
        for line in f:
            m = line_re.match(line.strip())
            if not m:
                continue
            src, dst, conns = m.groups()
            allowed = parse_nca_connections(conns)
            if not allowed:
                continue
            if src in pods and dst in pods:
                if src != dst:
                    pairs[(src, dst)] = allowed
                continue
            if src in pods or dst in pods:
                pod, other, direction = (src, dst, "egress") if src in pods else (dst, src, "ingress")
                ip = parse_ip_endpoint(other)
                if ip is not None and ip[0] == 4:
                    key = (pod, direction)
                    ext[key] = merge(ext.get(key, ()) + (ip[1],))
                    continue
            if len(unknown) < 5:
                unknown.append(line.strip())
    return pairs, ext, unknown


def read_netreach(json_file):
    """netreach -o json -> (pods, pairs {(src, dst): {proto: ranges}}, ext {(pod, dir): IPv4 ranges}, v6 externals)."""
    with open(json_file) as f:
        doc = json.load(f)
    pods = {n["id"] for n in doc["nodes"] if n["kind"] == "Pod"}
    ranges, v6 = {}, 0
    for n in doc["nodes"]:
        if n["kind"] != "External":
            continue
        cidrs = [cidr_range(c) for c in n.get("cidrs", [])]
        if any(v == 6 for v, _ in cidrs):
            v6 += 1
            continue
        ranges[n["id"]] = subtract(merge(r for _, r in cidrs), merge(cidr_range(c)[1] for c in n.get("except", [])))
    pairs, ext = {}, {}
    for c in doc["connections"]:
        allowed = {a["protocol"]: merge(tuple(p) for p in a["ports"]) for a in c["allowed"]}
        src, dst = c["src"], c["dst"]
        if src in pods and dst in pods:
            pairs[(src, dst)] = allowed
        elif src in pods and dst in ranges:
            ext[(src, "egress")] = merge(ext.get((src, "egress"), ()) + ranges[dst])
        elif dst in pods and src in ranges:
            ext[(dst, "ingress")] = merge(ext.get((dst, "ingress"), ()) + ranges[src])
    return pods, pairs, ext, v6


def fmt_ports(allowed):
    if not allowed:
        return "nothing"
    parts = []
    for p in PROTOCOLS:
        if p in allowed:
            rs = ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in allowed[p])
            parts.append(f"{p} {rs}")
    return "; ".join(parts)


def fmt_ips(ranges):
    return ", ".join(f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}" for lo, hi in ranges) or "nothing"


def compare(netreach_json, nca_out, examples=5):
    pods, nr_pairs, nr_ext, v6 = read_netreach(netreach_json)
    nca_pairs, nca_ext, unknown = read_nca(nca_out, pods)
    nr_keys, nca_keys = set(nr_pairs), set(nca_pairs)
    both = nr_keys & nca_keys
    port_diff = sorted(k for k in both if nr_pairs[k] != nca_pairs[k])
    ext_keys = set(nr_ext) | set(nca_ext)
    ext_diff = sorted(k for k in ext_keys if nr_ext.get(k, ()) != nca_ext.get(k, ()))
    pod_count = len(pods)
    return {
        "pods": pod_count,
        "possible_pairs": pod_count * (pod_count - 1),
        "netreach_pairs": len(nr_keys),
        "nca_pairs": len(nca_keys),
        "pairs_both": len(both),
        "only_netreach": len(nr_keys - nca_keys),
        "only_nca": len(nca_keys - nr_keys),
        "pairs_agree": pod_count * (pod_count - 1) - len(nr_keys ^ nca_keys),
        "ports_agree": len(both) - len(port_diff),
        "ports_disagree": len(port_diff),
        "ext_checked": 2 * pod_count,
        "ext_disagree": len(ext_diff),
        "netreach_ipv6_externals": v6,
        "unknown_nca_lines": unknown,
        "examples_only_netreach": [f"{s} -> {d}: netreach {fmt_ports(nr_pairs[(s, d)])}" for s, d in sorted(nr_keys - nca_keys)[:examples]],
        "examples_only_nca": [f"{s} -> {d}: nca {fmt_ports(nca_pairs[(s, d)])}" for s, d in sorted(nca_keys - nr_keys)[:examples]],
        "examples_ports": [f"{s} -> {d}: netreach {fmt_ports(nr_pairs[(s, d)])} / nca {fmt_ports(nca_pairs[(s, d)])}" for s, d in port_diff[:examples]],
        "examples_ext": [f"{p} {d}: netreach {fmt_ips(nr_ext.get((p, d), ()))} / nca {fmt_ips(nca_ext.get((p, d), ()))}" for p, d in ext_diff[:examples]],
    }


def describe(c):
    """Human-readable lines for a compare() result."""
    lines = [
        f"pod pairs: {c['pairs_agree']:,} of {c['possible_pairs']:,} ordered pairs agree "
        f"(netreach allows {c['netreach_pairs']:,}, nca {c['nca_pairs']:,}; "
        f"only netreach {c['only_netreach']:,}, only nca {c['only_nca']:,})",
        f"ports on pairs both allow: {c['ports_agree']:,} agree, {c['ports_disagree']:,} differ",
        f"pod <-> outside (IPv4 address sets, per pod and direction): {c['ext_checked'] - c['ext_disagree']:,} of {c['ext_checked']:,} agree",
    ]
    if c["netreach_ipv6_externals"]:
        lines.append(f"note: netreach lists {c['netreach_ipv6_externals']} IPv6 external range(s); nca prints IPv6 only with --print_ipv6: not compared")
    for key, title in (("examples_only_netreach", "allowed by netreach only"), ("examples_only_nca", "allowed by nca only"),
                       ("examples_ports", "ports differ"), ("examples_ext", "outside addresses differ")):
        if c[key]:
            lines.append(f"{title}, e.g.:")
            lines.extend(f"  {e}" for e in c[key])
    if c["unknown_nca_lines"]:
        lines.append("nca lines not understood, e.g.:")
        lines.extend(f"  {e}" for e in c["unknown_nca_lines"])
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cluster", help="a manifest file (e.g. from `netreach generate`)")
    ap.add_argument("--netreach", default=os.path.join(REPO, "target", "release", "netreach"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--keep", help="keep both outputs in this folder")
    args = ap.parse_args()
    nca, why = ensure_nca()
    if nca is None:
        print(why, file=sys.stderr)
        return 2
    work = args.keep or tempfile.mkdtemp(prefix="netreach-nca-")
    os.makedirs(work, exist_ok=True)
    nca_out, nr_out = os.path.join(work, "nca.txt"), os.path.join(work, "netreach.json")
    r = run_nca(nca, os.path.abspath(args.cluster), nca_out, args.timeout)
    print(f"nca: {r['status']} in {r['seconds']:.2f} s {r['message']}")
    with open(nr_out, "w") as f:
        rc, secs, kib, err = timed([args.netreach, "connectivity", args.cluster, "-o", "json", "-q"], stdout=f)
    print(f"netreach -o json: exit {rc} in {secs:.2f} s")
    if r["status"] == "ok" and rc == 0:
        print("\n".join(describe(compare(nr_out, nca_out))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
