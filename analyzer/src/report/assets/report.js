"use strict";
// netreach report: draws the namespace graph from the embedded data, expands workloads on
// demand, and fills the findings and namespace tables. Hand-written, no library: the page must
// open from disk with no network access.
(function () {
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SEVERITIES = ["info", "low", "medium", "high"];
  const MAX_DRAWN_WORKLOADS = 40;
  const MAX_LISTED = 200;
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }
  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.append(node);
    return node;
  }
  const fmt = (n) => Number(n).toLocaleString("en");
  const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 100) + "%");
  const namespaceOf = (w) => D.namespaces[D.workloads[w].namespace];
  const shortName = (w) => {
    const ws = D.workloads[w];
    const ns = D.namespaces[ws.namespace];
    return ns.external ? ws.id : ws.id.slice(ns.name.length + 1);
  };

  // ---- header ----
  function header() {
    const h = $("header");
    h.append(el("h1", {}, D.title));
    const c = D.counts;
    const policies = [fmt(c.networkPolicies) + " NetworkPolicies"];
    if (c.clusterPolicies) policies.push(fmt(c.clusterPolicies) + " cluster policies");
    if (c.ciliumPolicies) policies.push(fmt(c.ciliumPolicies) + " Cilium policies");
    h.append(el("div", { class: "meta" },
      "Read: " + D.sources.join(", ") + " · " + fmt(c.namespaces) + " namespaces, " + fmt(c.workloads) +
      " workloads, " + fmt(c.pods) + " pods, " + fmt(c.externalRanges) + " external ranges, " + policies.join(", ") +
      " · " + fmt(c.classes) + " equivalence classes · CNI profile: " + D.profile));
    if (D.warnings.length) {
      const ul = el("ul", { class: "warnings", id: "warnings" });
      for (const w of D.warnings) ul.append(el("li", {}, "⚠ " + w));
      h.append(ul);
    }
  }

  // ---- graph model ----
  const N = D.namespaces.length;
  const nsEdgesOut = D.namespaces.map(() => []);
  const nsEdgesIn = D.namespaces.map(() => []);
  const selfEdge = new Array(N).fill(-1);
  D.nsEdges.forEach((e, i) => {
    if (e[0] === e[1]) selfEdge[e[0]] = i;
    else { nsEdgesOut[e[0]].push(i); nsEdgesIn[e[1]].push(i); }
  });
  // Workload edges come from the class rows, on demand: the workloads of each class and the
  // classes of each row are indexed on first use.
  let classWorkloads = null, rowClasses = null;
  function classIndex() {
    if (classWorkloads) return;
    classWorkloads = D.classRows.map(() => []);
    D.workloadClasses.forEach((classes, w) => classes.forEach((c) => classWorkloads[c].push(w)));
    rowClasses = D.rows.map(() => []);
    D.classRows.forEach((r, c) => rowClasses[r].push(c));
  }
  const isExternal = (w) => D.namespaces[D.workloads[w].namespace].external;
  function addPorts(map, w, port) {
    let set = map.get(w);
    if (!set) map.set(w, (set = new Set()));
    set.add(port);
  }
  // The workloads `w` reaches: workload → set of port labels (their union is what is allowed).
  function reachedFrom(w) {
    classIndex();
    const out = new Map();
    for (const c of D.workloadClasses[w]) {
      const row = D.rows[D.classRows[c]];
      for (let i = 0; i < row.length; i += 3) {
        for (let d = row[i]; d < row[i] + row[i + 1]; d++) {
          for (const v of classWorkloads[d]) if (v !== w && !(isExternal(w) && isExternal(v))) addPorts(out, v, row[i + 2]);
        }
      }
    }
    return out;
  }
  // The workloads that reach `w`: every row is searched for w's classes.
  function reaching(w) {
    classIndex();
    const mine = D.workloadClasses[w];
    const out = new Map();
    D.rows.forEach((row, r) => {
      const ports = new Set();
      for (let i = 0; i < row.length; i += 3) {
        for (const c of mine) if (c >= row[i] && c < row[i] + row[i + 1]) ports.add(row[i + 2]);
      }
      if (!ports.size) return;
      for (const sc of rowClasses[r]) {
        for (const v of classWorkloads[sc]) {
          if (v === w || (isExternal(w) && isExternal(v))) continue;
          for (const p of ports) addPorts(out, v, p);
        }
      }
    });
    return out;
  }
  const portsText = (set) => [...set].map((p) => D.ports[p]).join(" + ");

  const pos = [];
  const radius = [];
  function layout() {
    // Namespaces on a circle, external ranges on an outer arc: deterministic, no physics.
    const inner = D.namespaces.map((n, i) => i).filter((i) => !D.namespaces[i].external);
    const outer = D.namespaces.map((n, i) => i).filter((i) => D.namespaces[i].external);
    const R = Math.max(220, inner.length * 34);
    inner.forEach((i, k) => {
      const a = (2 * Math.PI * (k + 0.5)) / Math.max(1, inner.length) - Math.PI / 2;
      pos[i] = { x: R * Math.cos(a), y: R * Math.sin(a) };
    });
    const R2 = R + 150;
    outer.forEach((i, k) => {
      const a = Math.PI + (2 * Math.PI * k) / Math.max(1, outer.length);
      pos[i] = { x: R2 * Math.cos(a), y: R2 * Math.sin(a) };
    });
    D.namespaces.forEach((n, i) => { radius[i] = n.external ? 16 : Math.min(60, 16 + 2.2 * Math.sqrt(n.pods)); });
  }

  function edgeKind(e) {
    const [s, d] = [D.namespaces[e[0]], D.namespaces[e[1]]];
    if (s.external || d.external) return "outside";
    return e[0] === e[1] ? "within" : "across";
  }

  function curve(a, b, ra, rb, bend) {
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    const sx = a.x + ux * ra, sy = a.y + uy * ra, ex = b.x - ux * (rb + 2), ey = b.y - uy * (rb + 2);
    const mx = (sx + ex) / 2 - uy * bend, my = (sy + ey) / 2 + ux * bend;
    return { d: `M${sx},${sy} Q${mx},${my} ${ex},${ey}`, lx: (sx + ex) / 2 - uy * bend * 0.5, ly: (sy + ey) / 2 + ux * bend * 0.5 };
  }

  const nodeEls = [];
  const edgeEls = [];
  function drawGraph() {
    const edges = $("edges"), nodes = $("nodes");
    const labels = D.nsEdges.length <= 60;
    D.nsEdges.forEach((e, i) => {
      if (e[0] === e[1]) return;
      const g = svg("g", { class: "edge " + edgeKind(e), "data-edge": i }, edges);
      const c = curve(pos[e[0]], pos[e[1]], radius[e[0]], radius[e[1]], 18);
      svg("title", {}, g).textContent = D.namespaces[e[0]].name + " → " + D.namespaces[e[1]].name + ": " + D.ports[e[2]];
      svg("path", { class: "hit", d: c.d }, g);
      svg("path", { class: "line", d: c.d, "marker-end": "url(#arrow)" }, g);
      if (labels) {
        const t = svg("text", { x: c.lx, y: c.ly, "text-anchor": "middle" }, g);
        t.textContent = D.ports[e[2]].length > 28 ? D.ports[e[2]].slice(0, 27) + "…" : D.ports[e[2]];
      }
      g.addEventListener("click", (ev) => { ev.stopPropagation(); selectEdge(i); });
      edgeEls[i] = g;
    });
    D.namespaces.forEach((n, i) => {
      const cls = "ns" + (n.external ? " external" : "") + (selfEdge[i] >= 0 ? " self" : "");
      const g = svg("g", { class: cls, "data-namespace": n.name, transform: `translate(${pos[i].x},${pos[i].y})` }, nodes);
      if (n.external) {
        const r = radius[i];
        const pts = [0, 1, 2, 3, 4, 5].map((k) => { const a = (Math.PI / 3) * k; return (r * Math.cos(a)).toFixed(1) + "," + (r * Math.sin(a)).toFixed(1); });
        svg("polygon", { points: pts.join(" ") }, g);
      } else {
        svg("circle", { r: radius[i] }, g);
      }
      svg("title", {}, g).textContent = n.external ? n.name : `${n.name}: ${fmt(n.pods)} pods, ${fmt(n.workloads.length)} workloads`;
      const label = svg("text", { y: radius[i] + 13 }, g);
      label.textContent = n.name.length > 34 ? n.name.slice(0, 33) + "…" : n.name;
      g.addEventListener("click", (ev) => { ev.stopPropagation(); selectNamespace(i, true); });
      nodeEls[i] = g;
    });
  }

  // ---- expanded namespaces: workloads drawn around their namespace, on demand ----
  const expanded = new Set();
  const workloadPos = new Map();
  function toggleExpand(i) {
    if (expanded.has(i)) expanded.delete(i); else expanded.add(i);
    nodeEls[i].classList.toggle("expanded", expanded.has(i));
    drawWorkloads();
  }
  function drawWorkloads() {
    nodeEls.forEach((g) => g.querySelectorAll(".wl").forEach((w) => w.remove()));
    workloadPos.clear();
    for (const i of expanded) {
      const list = D.namespaces[i].workloads.slice(0, MAX_DRAWN_WORKLOADS);
      const r = radius[i] + 30 + list.length * 2.5;
      list.forEach((w, k) => {
        const a = (2 * Math.PI * k) / list.length - Math.PI / 2;
        const x = r * Math.cos(a), y = r * Math.sin(a);
        workloadPos.set(w, { x: pos[i].x + x, y: pos[i].y + y });
        const g = svg("g", { class: "wl", "data-workload": D.workloads[w].id, transform: `translate(${x},${y})` }, nodeEls[i]);
        svg("circle", { r: 6 }, g);
        svg("title", {}, g).textContent = D.workloads[w].id + " (" + D.workloads[w].pods.length + " pods)";
        const t = svg("text", { y: -9 }, g);
        const name = shortName(w);
        t.textContent = name.length > 22 ? name.slice(0, 21) + "…" : name;
        g.addEventListener("click", (ev) => { ev.stopPropagation(); selectWorkload(w); });
      });
    }
    const wedges = $("wedges");
    wedges.replaceChildren();
    if (!workloadPos.size) return;
    for (const [w, p] of workloadPos) {
      for (const [v, ports] of reachedFrom(w)) {
        const q = workloadPos.get(v);
        if (!q) continue;
        const line = svg("line", { class: "wedge", x1: p.x, y1: p.y, x2: q.x, y2: q.y }, wedges);
        svg("title", {}, line).textContent = D.workloads[w].id + " → " + D.workloads[v].id + ": " + portsText(ports);
      }
    }
  }

  // ---- selection and details ----
  let selection = null; // {kind: "namespace"|"workload", index}
  function details(title, ...parts) {
    const d = $("details");
    d.replaceChildren(el("h2", {}, title), ...parts);
  }
  function clearMarks() {
    document.querySelectorAll(".selected,.dim,.hit-node,.source-node").forEach((n) => n.classList.remove("selected", "dim", "hit-node", "source-node"));
  }
  function list(items, render) {
    const ul = el("ul");
    items.slice(0, MAX_LISTED).forEach((x) => ul.append(render(x)));
    if (items.length > MAX_LISTED) ul.append(el("li", {}, `… and ${fmt(items.length - MAX_LISTED)} more`));
    return ul;
  }
  function workloadItem(w, suffix) {
    const li = el("li", { class: "clickable", "data-workload": D.workloads[w].id }, D.workloads[w].id + (suffix || ""));
    li.addEventListener("click", () => selectWorkload(w));
    return li;
  }
  function selectNamespace(i, toggle) {
    clearMarks();
    if (toggle) toggleExpand(i);
    selection = { kind: "namespace", index: i };
    nodeEls[i].classList.add("selected");
    setDirectionButtons(true);
    const n = D.namespaces[i];
    const parts = [];
    if (n.external) parts.push(el("p", {}, "An external address range carved out by the policies' ipBlocks."));
    else {
      parts.push(el("p", {}, `${fmt(n.pods)} pods, ${fmt(n.workloads.length)} workloads. Segmentation: ${pct(n.score)} of the (source pod, pod here) pairs are denied.`));
      if (selfEdge[i] >= 0) {
        const e = D.nsEdges[selfEdge[i]];
        parts.push(el("p", {}, `Within the namespace: ${fmt(e[3])} of ${fmt(e[4])} pod pairs connected, on ${D.ports[e[2]]}.`));
        const b = el("button", { type: "button" }, "Rules within the namespace");
        b.addEventListener("click", () => selectEdge(selfEdge[i]));
        parts.push(b);
      }
      parts.push(el("h3", {}, "Workloads"));
      parts.push(list(n.workloads, (w) => workloadItem(w, ` (${D.workloads[w].pods.length} pods)`)));
      if (n.workloads.length > MAX_DRAWN_WORKLOADS) parts.push(el("p", { class: "hint" }, `The graph draws the first ${MAX_DRAWN_WORKLOADS}; search finds the others.`));
    }
    details((n.external ? "Range " : "Namespace ") + n.name, ...parts);
  }
  function selectWorkload(w) {
    clearMarks();
    const ns = D.workloads[w].namespace;
    if (!expanded.has(ns) && !D.namespaces[ns].external) toggleExpand(ns);
    selection = { kind: "workload", index: w };
    const node = document.querySelector(`#nodes .wl[data-workload="${CSS.escape(D.workloads[w].id)}"]`);
    if (node) node.classList.add("selected"); else nodeEls[ns].classList.add("selected");
    setDirectionButtons(true);
    const ws = D.workloads[w];
    const out = [...reachedFrom(w)], into = [...reaching(w)];
    details("Workload " + ws.id,
      el("p", {}, ws.hostNetwork ? "hostNetwork: shares its node's network." : ""),
      el("h3", {}, `Pods (${fmt(ws.pods.length)})`), list(ws.pods, (p) => el("li", {}, p)),
      el("h3", {}, `Reaches (${fmt(out.length)})`), list(out, ([p, ports]) => workloadItem(p, ": " + portsText(ports))),
      el("h3", {}, `Reached from (${fmt(into.length)})`), list(into, ([p, ports]) => workloadItem(p, ": " + portsText(ports))));
  }
  function selectEdge(i) {
    clearMarks();
    selection = null;
    setDirectionButtons(false);
    if (edgeEls[i]) edgeEls[i].classList.add("selected");
    const e = D.nsEdges[i], why = D.why[i];
    const [s, d] = [D.namespaces[e[0]].name, D.namespaces[e[1]].name];
    const parts = [
      el("p", {}, "Allowed ports: ", el("strong", { id: "edge-ports" }, D.ports[e[2]])),
      el("p", {}, `${fmt(e[3])} of ${fmt(e[4])} endpoint pairs connected.`),
      el("h3", {}, "Rules that allow it (as netreach can gives them)"),
      list(why.rules, (r) => el("li", { class: "rule" }, D.ruleTexts[r])),
    ];
    if (why.explained < why.classPairs) parts.push(el("p", { class: "hint" }, `Read on ${why.explained} of ${why.classPairs} class pairs; run netreach can ${s} ${d} for every one.`));
    details(s === d ? "Within " + s : s + " → " + d, ...parts);
  }
  function setDirectionButtons(on) { $("from-here").disabled = !on; $("to-here").disabled = !on; }

  // One hop from (or to) the selection, highlighted: a workload's peers from the class rows, a
  // namespace's from the namespace edges.
  function highlight(forward) {
    if (!selection) return;
    const own = selection.kind === "workload" ? D.workloads[selection.index].namespace : selection.index;
    let items, hitNs;
    if (selection.kind === "workload") {
      const w = selection.index;
      items = [...(forward ? reachedFrom(w) : reaching(w))].map(([v, ports]) => [v, portsText(ports)]);
      hitNs = new Set(items.map(([v]) => D.workloads[v].namespace));
    } else {
      const edges = (forward ? nsEdgesOut : nsEdgesIn)[own];
      items = edges.map((i) => [D.nsEdges[i][forward ? 1 : 0], D.ports[D.nsEdges[i][2]]]);
      hitNs = new Set(items.map(([n]) => n));
    }
    clearMarks();
    nodeEls.forEach((g, i) => {
      if (i === own) g.classList.add("source-node");
      else if (hitNs.has(i)) g.classList.add("hit-node");
      else g.classList.add("dim");
    });
    edgeEls.forEach((g, i) => {
      if (!g) return;
      const e = D.nsEdges[i];
      const on = forward ? e[0] === own && hitNs.has(e[1]) : e[1] === own && hitNs.has(e[0]);
      if (!on) g.classList.add("dim");
    });
    const byWorkload = selection.kind === "workload";
    const what = byWorkload ? D.workloads[selection.index].id : D.namespaces[selection.index].name;
    const unit = byWorkload ? `${fmt(items.length)} workloads in ${fmt(hitNs.size)} namespaces` : `${fmt(items.length)} namespaces`;
    details((forward ? "From " : "To ") + what,
      el("p", {}, `${unit} ${forward ? "reached from" : "reaching"} it in one hop.`),
      list(items, ([x, ports]) => byWorkload ? workloadItem(x, ": " + ports) : el("li", { class: "hop" }, D.namespaces[x].name + ": " + ports)));
  }

  // ---- search ----
  function search() {
    const q = $("search").value.trim().toLowerCase();
    const out = $("search-results");
    out.replaceChildren();
    if (!q) { out.hidden = true; return; }
    let shown = 0;
    for (let w = 0; w < D.workloads.length && shown < 30; w++) {
      const ws = D.workloads[w];
      const pod = ws.id.toLowerCase().includes(q) ? null : ws.pods.find((p) => p.toLowerCase().includes(q));
      if (pod === undefined) continue;
      const li = el("li", { "data-result": ws.id }, ws.id + (pod ? "  (pod " + pod + ")" : ""));
      li.addEventListener("click", () => { out.hidden = true; selectWorkload(w); });
      out.append(li);
      shown++;
    }
    if (!shown) out.append(el("li", {}, "No pod or workload matches."));
    out.hidden = false;
  }

  // ---- zoom and pan ----
  const view = { x: 0, y: 0, k: 1 };
  function applyView() { $("viewport").setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`); }
  function fit() {
    const box = $("graph").getBoundingClientRect();
    const xs = pos.map((p) => p.x), ys = pos.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs) - 120, Math.max(...xs) + 120, Math.min(...ys) - 120, Math.max(...ys) + 120];
    view.k = Math.min(box.width / (x1 - x0), box.height / (y1 - y0), 2);
    view.x = box.width / 2 - ((x0 + x1) / 2) * view.k;
    view.y = box.height / 2 - ((y0 + y1) / 2) * view.k;
    applyView();
  }
  function zoomAndPan() {
    const g = $("graph");
    g.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = g.getBoundingClientRect();
      const mx = ev.clientX - r.left, my = ev.clientY - r.top;
      const f = Math.exp(-ev.deltaY * 0.0015);
      view.x = mx - (mx - view.x) * f; view.y = my - (my - view.y) * f; view.k *= f;
      applyView();
    }, { passive: false });
    let drag = null;
    g.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX - view.x, y: ev.clientY - view.y }; g.classList.add("panning"); });
    window.addEventListener("mousemove", (ev) => { if (drag) { view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; applyView(); } });
    window.addEventListener("mouseup", () => { drag = null; g.classList.remove("panning"); });
  }

  // ---- tables ----
  function findingsTable() {
    const body = document.querySelector("#findings tbody");
    for (const f of D.findings) {
      const tr = el("tr", { "data-finding-id": f.id, "data-severity": f.severity },
        el("td", { class: "sev sev-" + f.severity }, f.severity),
        el("td", {}, f.id),
        el("td", {}, f.namespace || ""),
        el("td", {}, el("strong", {}, f.name), el("br"), f.message),
        el("td", {}, f.objects.join("\n")),
        el("td", {}, f.fix));
      tr.lastChild.previousSibling.style.whiteSpace = "pre-line";
      body.append(tr);
    }
    const filter = () => {
      const min = SEVERITIES.indexOf($("severity").value);
      let shown = 0;
      for (const tr of body.rows) {
        const on = SEVERITIES.indexOf(tr.dataset.severity) >= min;
        tr.hidden = !on;
        if (on) shown++;
      }
      const suppressed = D.suppressed ? `, ${fmt(D.suppressed)} suppressed` : "";
      $("findings-count").textContent = `(${fmt(shown)} of ${fmt(D.findings.length)} shown${suppressed})`;
    };
    $("severity").addEventListener("change", filter);
    filter();
  }
  function namespaceTable() {
    const body = document.querySelector("#namespace-table tbody");
    D.namespaces.forEach((n, i) => {
      if (n.external) return;
      const m = n.mesh;
      const score = el("td", {}, el("span", { class: "bar", style: `width:${Math.round((n.score || 0) * 60)}px` }), pct(n.score));
      const name = el("td", { class: "clickable" }, n.name);
      name.addEventListener("click", () => selectNamespace(i, !expanded.has(i)));
      body.append(el("tr", {}, name, el("td", {}, fmt(n.pods)), el("td", {}, fmt(n.workloads.length)), score,
        el("td", {}, n.possiblePairs === null ? "–" : `${fmt(n.allowedPairs)} / ${fmt(n.possiblePairs)}`),
        el("td", {}, m && m.mesh ? m.mesh : "none"),
        el("td", {}, m ? `${fmt(m.podsInMesh)} of ${fmt(n.pods)}` : "0"),
        el("td", {}, m ? `${fmt(m.mtls)} / ${fmt(m.pairs)}` + (m.plaintext ? ` (${fmt(m.plaintext)} plaintext)` : "") : "–")));
    });
  }
  function exposureTable() {
    if (!D.exposures.length && !D.exposureNotes.length) return;
    $("exposure-section").hidden = false;
    const body = document.querySelector("#exposures tbody");
    for (const x of D.exposures) {
      body.append(el("tr", { "data-exposure": x.via + " " + x.name, "data-reachable": String(x.reachable) },
        el("td", {}, x.via), el("td", {}, x.name), el("td", {}, x.entryPort === null ? "–" : String(x.entryPort)),
        el("td", {}, x.pod), el("td", {}, x.port), el("td", {}, x.sources.join(" → ")),
        el("td", { class: x.reachable ? "sev sev-high" : "" }, x.reachable ? "yes" : "no: policy closes a hop")));
    }
    for (const n of D.exposureNotes) $("exposure-notes").append(el("li", {}, n));
    const filter = () => {
      const only = $("reachable-only").checked;
      let shown = 0;
      for (const tr of body.rows) {
        tr.hidden = only && tr.dataset.reachable !== "true";
        if (!tr.hidden) shown++;
      }
      $("exposure-count").textContent = `(${fmt(shown)} of ${fmt(D.exposures.length)} shown)`;
    };
    $("reachable-only").addEventListener("change", filter);
    filter();
  }
  function attackTable() {
    if (!D.attackPaths.length) return;
    $("attack-section").hidden = false;
    const body = document.querySelector("#attack-paths tbody");
    for (const p of D.attackPaths) {
      const path = el("td", {});
      p.steps.forEach((s, k) => {
        if (k === 0) path.append(el("strong", {}, s[0]));
        path.append(el("br"), ` → ${s[1]} (${s[2]}: ${s[3]})`);
      });
      body.append(el("tr", { "data-attack-target": p.target }, el("td", {}, p.target), el("td", {}, fmt(p.steps.length)), path));
    }
  }
  function legend() {
    const l = $("legend");
    for (const [cls, text] of [["--within", "within a namespace (dashed ring)"], ["--across", "across namespaces"], ["--outside", "to or from outside the cluster"]]) {
      l.append(el("span", {}, el("i", { style: `background:var(${cls})` }), text));
    }
  }

  header();
  legend();
  layout();
  drawGraph();
  zoomAndPan();
  findingsTable();
  namespaceTable();
  exposureTable();
  attackTable();
  fit();
  $("search").addEventListener("input", search);
  $("from-here").addEventListener("click", () => highlight(true));
  $("to-here").addEventListener("click", () => highlight(false));
  $("clear").addEventListener("click", () => { clearMarks(); selection = null; setDirectionButtons(false); details("Details", el("p", {}, "Nothing selected.")); });
  $("fit").addEventListener("click", fit);
  $("graph").addEventListener("click", () => { $("search-results").hidden = true; });
  performance.mark("netreach-ready");
  document.body.dataset.ready = "true";
})();
