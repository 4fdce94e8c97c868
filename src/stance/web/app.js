// stance web page: plain JavaScript, no libraries, no network access beyond this server.
"use strict";

const STANCE_ORDER = ["reassure", "threaten", "dismiss", "none"];
const state = { docs: [], current: 0, labels: STANCE_ORDER.slice(), selected: null };

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
};
const pct = (x) => (x == null ? "" : Math.round(x * 100) + "%");
const stanceName = (label) => (label === "none" ? "no stance" : label);

function describe(st) {
  // One line of text for tooltips: speaker, stance, confidence, and the best stance kept beside a none.
  let s = `${st.speaker || "unknown speaker"}: ${stanceName(st.label)} (${pct(st.score)})`;
  if (st.abstained && st.stance) s += `; closest stance ${st.stance} ${pct(st.stance_score)}`;
  const probs = Object.entries(st.probabilities || {}).map(([k, v]) => `${k} ${pct(v)}`).join(", ");
  return probs ? `${s}\n${probs}` : s;
}

async function loadModel() {
  try {
    const r = await fetch("v1/model");
    const m = await r.json();
    state.labels = m.labels.slice().sort((a, b) => STANCE_ORDER.indexOf(a) - STANCE_ORDER.indexOf(b));
    if (!state.labels.includes("none")) state.labels.push("none");
    const t = (m.test_scores && m.test_scores.test) || {};
    const f1 = t.macro_f1 != null ? ` &middot; test macro-F1 <b>${t.macro_f1.toFixed(3)}</b>` : "";
    $("model-info").innerHTML = `model <b>${escapeHtml(m.name)}</b> &middot; ${escapeHtml(m.base_model || "")}${f1}` +
      (m.data_hash ? ` &middot; data ${escapeHtml(m.data_hash)}` : "");
  } catch (e) {
    $("model-info").textContent = "model information unavailable";
  }
  for (const lab of state.labels) $("filter-stance").append(el("option", { value: lab, text: stanceName(lab) }));
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function setStatus(msg, error = false) {
  $("status").textContent = msg;
  $("status").classList.toggle("error", error);
}

async function analyse(docs) {
  // docs: [{name, title, text}]; each is sent to /v1/articles in turn.
  docs = docs.filter((d) => d.text.trim());
  if (!docs.length) { setStatus("Paste an article or drop a .txt file first.", true); return; }
  $("analyse").disabled = true;
  setStatus(`Analysing ${docs.length > 1 ? docs.length + " documents" : "the article"}…`);
  const done = [];
  try {
    for (const [i, d] of docs.entries()) {
      const r = await fetch("v1/articles", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: d.text, title: d.title || null }),
      });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(`${d.name}: ${body.error || r.status + " " + r.statusText}`);
      done.push({ ...d, statements: body.statements, warnings: body.warnings || [] });
      if (docs.length > 1) setStatus(`Analysed ${i + 1} of ${docs.length} documents…`);
    }
  } catch (e) {
    setStatus(e.message, true);
    $("analyse").disabled = false;
    if (!done.length) return;
  }
  $("analyse").disabled = false;
  state.docs = done;
  state.current = 0;
  const n = done.reduce((a, d) => a + d.statements.length, 0);
  const warn = done.flatMap((d) => d.warnings);
  if (!$("status").classList.contains("error"))
    setStatus(`${n} statement${n === 1 ? "" : "s"} found` + (warn.length ? ` (${warn.join("; ")})` : "") + ".");
  render();
}

function render() {
  $("results").hidden = false;
  const multi = state.docs.length > 1;
  $("doc-bar").hidden = !multi;
  document.body.classList.toggle("multi", multi);
  const sel = $("doc-select");
  sel.replaceChildren(...state.docs.map((d, i) => el("option", { value: String(i), text: `${d.name} (${d.statements.length})` })));
  sel.value = String(state.current);
  const speakers = [...new Set(allRows().map((r) => r.speaker || "unknown"))].sort();
  const fs = $("filter-speaker");
  const keep = fs.value;
  fs.replaceChildren(el("option", { value: "", text: "all" }), ...speakers.map((s) => el("option", { value: s, text: s })));
  fs.value = speakers.includes(keep) ? keep : "";
  renderArticle();
  renderTable();
  renderChart();
  $("detail").replaceChildren(el("p", { class: "muted", text: "Click a highlighted statement, or a row of the table." }));
}

function allRows() {
  return state.docs.flatMap((d, di) => d.statements.map((s) => ({ ...s, document: d.name, doc: di })));
}

function renderArticle() {
  const d = state.docs[state.current];
  $("doc-title").textContent = d.title || d.name;
  const box = $("rendered");
  box.replaceChildren();
  let pos = 0;
  const sorted = d.statements.slice().sort((a, b) => a.start - b.start);
  for (const st of sorted) {
    const start = Math.max(st.start, pos);
    if (start >= st.end) continue; // inside the previous statement: listed in the table only
    box.append(document.createTextNode(d.text.slice(pos, start)));
    const span = el("span", {
      class: `stmt ${st.label}`, "data-index": String(st.index), "data-label": st.label,
      "data-speaker": st.speaker || "", title: describe(st), tabindex: "0",
    }, d.text.slice(start, st.end));
    span.addEventListener("click", () => select(state.current, st.index));
    span.addEventListener("keydown", (e) => { if (e.key === "Enter") select(state.current, st.index); });
    box.append(span);
    pos = st.end;
  }
  box.append(document.createTextNode(d.text.slice(pos)));
}

function filteredRows() {
  const stance = $("filter-stance").value, speaker = $("filter-speaker").value;
  return allRows().filter((r) => (!stance || r.label === stance) && (!speaker || (r.speaker || "unknown") === speaker));
}

function renderTable() {
  const rows = filteredRows();
  const tbody = $("statements").tBodies[0];
  tbody.replaceChildren(...rows.map((r) => {
    const tr = el("tr", { "data-doc": String(r.doc), "data-index": String(r.index), "data-label": r.label, "data-speaker": r.speaker || "" },
      el("td", { class: "num", text: String(r.index + 1) }),
      el("td", { class: "col-doc", text: r.document }),
      el("td", { text: r.speaker || "unknown" }),
      el("td", {}, el("span", { class: `chip ${r.label}`, text: stanceName(r.label) })),
      el("td", { class: "num", title: describe(r), text: pct(r.score) + (r.abstained && r.stance ? ` (${r.stance}?)` : "") }),
      el("td", { text: r.text }),
      el("td", { class: "muted", text: r.kind }));
    tr.addEventListener("click", () => select(r.doc, r.index));
    return tr;
  }));
  const total = allRows().length;
  $("row-count").textContent = rows.length === total ? `(${total})` : `(${rows.length} of ${total})`;
}

function renderChart() {
  const counts = new Map();
  for (const r of allRows()) {
    const s = r.speaker || "unknown";
    if (!counts.has(s)) counts.set(s, {});
    counts.get(s)[r.label] = (counts.get(s)[r.label] || 0) + 1;
  }
  const total = (c) => Object.values(c).reduce((a, b) => a + b, 0);
  const entries = [...counts.entries()].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  const max = Math.max(1, ...entries.map(([, c]) => total(c)));
  const chart = $("chart");
  chart.replaceChildren(...entries.map(([speaker, c]) => {
    const stack = el("div", { class: "stack", style: `width:${(100 * total(c)) / max}%` });
    for (const lab of state.labels) {
      if (!c[lab]) continue;
      stack.append(el("span", { class: `fill-${lab}`, style: `width:${(100 * c[lab]) / total(c)}%`,
        title: `${speaker}: ${c[lab]} ${stanceName(lab)}` }));
    }
    const parts = state.labels.filter((l) => c[l]).map((l) => `${c[l]} ${stanceName(l)}`).join(", ");
    return el("div", { class: "row", "data-speaker": speaker },
      el("div", { class: "name" }, el("span", { text: speaker }), el("span", { class: "muted", text: parts })), stack);
  }));
  if (!entries.length) chart.append(el("p", { class: "muted", text: "No statements." }));
}

function select(doc, index) {
  if (doc !== state.current) {
    state.current = doc;
    $("doc-select").value = String(doc);
    renderArticle();
  }
  const st = state.docs[doc].statements.find((s) => s.index === index);
  document.querySelectorAll(".stmt.active, tbody tr.active").forEach((n) => n.classList.remove("active"));
  const span = document.querySelector(`#rendered .stmt[data-index="${index}"]`);
  if (span) { span.classList.add("active"); span.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
  const tr = document.querySelector(`#statements tbody tr[data-doc="${doc}"][data-index="${index}"]`);
  if (tr) tr.classList.add("active");
  const bars = el("div", { class: "bars" });
  const probs = st.probabilities || {};
  for (const lab of state.labels.filter((l) => l in probs)) {
    bars.append(el("div", { class: "bar-row" },
      el("span", { text: stanceName(lab) }),
      el("div", { class: "bar" }, el("span", { class: `fill-${lab}`, style: `width:${100 * probs[lab]}%` })),
      el("span", { class: "num", text: pct(probs[lab]) })));
  }
  const note = st.abstained
    ? el("p", { class: "muted", text: st.stance ? `No stance found (the model's closest stance: ${st.stance}, ${pct(st.stance_score)}).` : "No stance found." })
    : el("p", { class: "muted", text: `Confidence ${pct(st.score)}.` });
  $("detail").replaceChildren(
    el("div", { class: "who", text: st.speaker || "unknown speaker" }),
    el("div", {}, el("span", { class: `chip ${st.label}`, text: stanceName(st.label) }), ` ${st.kind} statement`),
    el("blockquote", { text: st.text }), note, bars);
}

// -- downloads: the rows the table shows (all rows when no filter is set) --------------------------
function exportRows() {
  return filteredRows().map((r) => {
    const row = { document: r.document, index: r.index, speaker: r.speaker, kind: r.kind, start: r.start, end: r.end,
      text: r.text, stance: r.label, score: r.score, abstained: r.abstained, truncated: r.truncated,
      best_stance: r.stance, best_stance_score: r.stance_score };
    for (const lab of Object.keys(r.probabilities || {})) row[`p_${lab}`] = r.probabilities[lab];
    return row;
  });
}

function csvCell(v) {
  if (v == null) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download(name, text, type) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function baseName() {
  const d = state.docs.length === 1 ? state.docs[0].name : "statements";
  return (d.replace(/\.[^.]+$/, "").replace(/[^\w.-]+/g, "_") || "statements") + "-stances";
}

function downloadCsv() {
  const rows = exportRows();
  const cols = rows.length ? Object.keys(rows[0]) : ["document", "index", "speaker", "kind", "start", "end", "text", "stance", "score"];
  const lines = [cols.join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))];
  download(baseName() + ".csv", lines.join("\r\n") + "\r\n", "text/csv;charset=utf-8");
}

function downloadJsonl() {
  download(baseName() + ".jsonl", exportRows().map((r) => JSON.stringify(r)).join("\n") + "\n", "application/x-ndjson");
}

// -- input: paste, or drop / open .txt files ------------------------------------------------------
async function readFiles(fileList) {
  const files = [...fileList].filter((f) => /\.txt$/i.test(f.name) || f.type === "text/plain");
  if (!files.length) { setStatus("Only .txt files can be read.", true); return; }
  const docs = [];
  for (const f of files) {
    const buf = await f.arrayBuffer();
    let text;
    try { text = new TextDecoder("utf-8", { fatal: true }).decode(buf); }
    catch (e) { setStatus(`${f.name} is not UTF-8 text; skipped.`, true); continue; }
    docs.push({ name: f.name, title: "", text: text.replace(/^\uFEFF/, "") });
  }
  if (docs.length === 1) { $("article").value = docs[0].text; }
  await analyse(docs);
}

function init() {
  loadModel();
  $("analyse").addEventListener("click", () =>
    analyse([{ name: $("title").value.trim() || "pasted article", title: $("title").value.trim(), text: $("article").value }]));
  $("clear").addEventListener("click", () => {
    $("article").value = ""; $("title").value = ""; $("results").hidden = true; state.docs = []; setStatus("");
  });
  $("files").addEventListener("change", (e) => { readFiles(e.target.files); e.target.value = ""; });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); readFiles(e.dataTransfer.files); });
  $("filter-stance").addEventListener("change", renderTable);
  $("filter-speaker").addEventListener("change", renderTable);
  $("doc-select").addEventListener("change", (e) => { state.current = Number(e.target.value); renderArticle(); });
  $("download-csv").addEventListener("click", downloadCsv);
  $("download-jsonl").addEventListener("click", downloadJsonl);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && document.activeElement === $("article")) $("analyse").click();
  });
}

document.addEventListener("DOMContentLoaded", init);
