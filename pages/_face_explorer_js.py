"""The browser side of :mod:`pages._face_explorer`: its JavaScript and CSS (no Python logic here).

:data:`EXPORT_JS` is the Export menu of a chart drawn in the browser (files from
:func:`pages._figures.export_payload`) and the ``esc`` helper; other elements include it too.
"""

EXPORT_JS = r"""
// Text made safe for HTML (every element that includes this menu uses it too).
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
// The Export menu of a chart drawn here: a click asks the app for the file (state "export"), whose rerun sends it.
function exportMenu(e) {
  return `<details class="fx-export"><summary>Export</summary><p>${esc(e.caption)}</p><div class="fx-export-buttons">` +
    e.formats.map((f) => `<button type="button" data-fmt="${f}">${f.toUpperCase()}</button>`).join("") +
    `</div><p class="fx-export-status" role="status"></p></details>`;
}

function bindExport(box, setStateValue) {
  box.addEventListener("click", (event) => {
    const b = event.target.closest("button[data-fmt]");
    if (!b) return;
    box.querySelector(".fx-export-status").textContent = `Drawing the ${b.dataset.fmt.toUpperCase()} file...`;
    setStateValue("export", { fmt: b.dataset.fmt, nonce: `${Date.now()}-${Math.random()}`, pane: box.__pane || "" });
  });
}

function saveDownload(box, e) {  // the file the app sent, saved once
  const dl = e.download;
  if (!dl || box.__nonce === dl.nonce) return;
  box.__nonce = dl.nonce;
  const status = box.querySelector(".fx-export-status");
  if (dl.error) { status.textContent = dl.error; return; }
  const bytes = Uint8Array.from(atob(dl.b64), (c) => c.charCodeAt(0));
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes], { type: dl.mime }));
  a.download = dl.name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  status.textContent = `Saved ${dl.name}.`;
}

function drawExport(box, e, setStateValue, pane = "") {
  box.__pane = pane;
  const html = exportMenu(e);
  if (box.__html !== html) { box.innerHTML = html; box.__html = html; if (!box.__bound) { box.__bound = true; bindExport(box, setStateValue); } }
  saveDownload(box, e);
}
"""

EXPORT_CSS = """
.fx-export { margin: 0.5rem 0; font-size: 0.875rem; }
.fx-export summary { cursor: pointer; display: inline-block; border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem;
  padding: 0.25rem 0.75rem; list-style: none; }
.fx-export summary::-webkit-details-marker { display: none; }
.fx-export summary::before { content: "↓ "; }
.fx-export[open] summary { border-color: #ff4b4b; color: #ff4b4b; }
.fx-export p { color: rgba(49, 51, 63, 0.6); margin: 0.25rem 0; }
.fx-export .fx-export-buttons { display: flex; gap: 0.5rem; }
.fx-export button { font: inherit; border: 1px solid rgba(49, 51, 63, 0.2); background: #fff; border-radius: 0.5rem;
  padding: 0.25rem 0.75rem; cursor: pointer; }
.fx-export button:hover { border-color: #ff4b4b; color: #ff4b4b; }
"""

JS = EXPORT_JS + r"""
// What the app sends once and the page keeps while it lives: the faces of the outer filters (by ctx) and
// the thumbnails of one run (by token).
const store = { ctx: null, faces: null, token: null, thumbs: {} };

// Python's round() (ties to even), as core.common.svg_heatmap rounds colours.
const pyRound = (v) => { const f = Math.floor(v); const d = v - f; return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1); };

function colourAt(stops, t) {  // core.common.svg_heatmap.colour_at
  t = Math.min(Math.max(t, 0), 1);
  for (let i = 0; i + 1 < stops.length; i++) {
    const [p0, c0] = stops[i], [p1, c1] = stops[i + 1];
    if (t <= p1) {
      const w = p1 === p0 ? 0 : (t - p0) / (p1 - p0);
      return c0.map((a, k) => pyRound(a + w * (c1[k] - a)));
    }
  }
  return stops[stops.length - 1][1];
}

function textColour(rgb) {  // core.common.svg_heatmap.text_colour
  const lin = rgb.map((c) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : Math.pow((c / 255 + 0.055) / 1.055, 2.4)));
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] < 0.3 ? "#fff" : "#222";
}

// Python's f"{x:.0%}" (ties to even).
const pct = (x) => { const v = x * 100; const r = Math.round(v); return (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r) + "%"; };

// What the gallery and the matrix show for a state: the same rules as the page's Python
// (core.evaluation.explore.filter_predictions on rows already sorted most confident first).
function view(d, s) {
  const chosen = d.groups.includes(s.cm_group) ? [s.cm_group] : s.groups;
  const title = chosen.length === 1 && chosen[0] === s.cm_group ? s.cm_group : (chosen.join(", ") || "all groups");
  const inGroups = new Set(chosen);
  const base = [];
  d.rows.forEach((r, i) => { if (!inGroups.size || inGroups.has(r[0])) base.push(i); });
  const matrixKey = d.ctx + "|" + chosen.join("\u0001");
  const cell = s.cell && s.cell[2] === matrixKey ? s.cell : null;
  const T = new Set(s.true), P = new Set(s.pred), E = d.emotions;
  const shown = base.filter((i) => {
    const r = d.rows[i];
    if (cell) return E[r[1]] === cell[0] && E[r[2]] === cell[1];
    if (T.size && !T.has(E[r[1]])) return false;
    if (P.size && !P.has(E[r[2]])) return false;
    return s.show === "all" || (s.show === "correct") === (r[1] === r[2]);
  });
  const counts = E.map(() => E.map(() => 0));
  base.forEach((i) => { counts[d.rows[i][1]][d.rows[i][2]] += 1; });
  const wrong = shown.length ? pct(shown.filter((i) => d.rows[i][1] !== d.rows[i][2]).length / shown.length) : "";
  const summary = shown.length ? `${shown.length} faces · ${wrong} wrong · most confident first` : "";
  const single = chosen.length === 1 ? chosen[0] : null;
  const persons = single !== null && d.persons ? d.persons[single] : null;
  return { chosen, title: `${title} (n=${base.length})`, base, shown, counts, cell, matrixKey, summary, single, persons };
}

// Streamlit sends a state change from a zero-delay timer; drawing from the next one lets the message leave first
// (before the browser lays out and paints the new faces) and still draws before that paint.
const later = (fn) => setTimeout(fn, 0);

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

function set(el, prop, value) { if (el[prop] !== value) el[prop] = value; }  // no DOM write when unchanged
function attr(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }

function drawMatrix(root, d, v) {
  const box = root.querySelector(".fx-svg");
  if (box.__ctx !== d.ctx) { box.innerHTML = d.svg; box.__ctx = d.ctx; }
  const svg = box.querySelector("svg");
  const title = svg.querySelector(":scope > text");
  if (title && title.textContent !== v.title) title.firstChild.textContent = v.title;
  attr(svg, "aria-label", v.title);
  const E = d.emotions;
  let selected = null;
  svg.querySelectorAll("g.cell").forEach((g) => {
    const i = E.indexOf(g.dataset.true), j = E.indexOf(g.dataset.pred);
    const n = v.counts[i][j], total = v.counts[i].reduce((a, b) => a + b, 0);
    const share = total > 0 ? n / total : 0;
    const rgb = colourAt(d.stops, share);
    attr(g.querySelector("rect"), "fill", `rgb(${rgb.join(", ")})`);
    const text = g.querySelector("text");
    attr(text, "fill", textColour(rgb));
    set(text.firstChild, "textContent", String(n));
    const tip = d.tooltip.replace("{row}", E[i]).replace("{col}", E[j]).replace("{text}", String(n));
    set(g.querySelector("title"), "textContent", tip);
    attr(g, "aria-label", tip);
    if (v.cell && v.cell[0] === E[i] && v.cell[1] === E[j]) selected = g.querySelector("rect");
  });
  let mark = svg.querySelector("rect.selected");
  if (!selected && mark) mark.remove();
  if (selected) {
    const x = (+selected.getAttribute("x") + 1.5).toFixed(1), y = (+selected.getAttribute("y") + 1.5).toFixed(1);
    const w = (+selected.getAttribute("width") - 3).toFixed(1), h = (+selected.getAttribute("height") - 3).toFixed(1);
    if (!mark) {
      mark = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      mark.setAttribute("class", "selected");
      for (const [k, val] of [["fill", "none"], ["stroke", d.selected_colour], ["stroke-width", "3"], ["pointer-events", "none"]]) mark.setAttribute(k, val);
      svg.appendChild(mark);
    }
    attr(mark, "x", x); attr(mark, "y", y); attr(mark, "width", w); attr(mark, "height", h);
  }
  const warn = root.querySelector(".fx-warn");
  const low = v.persons !== null && v.persons !== undefined && v.persons < d.min_persons;
  set(warn, "innerHTML", low ? `⚠ ${esc(v.single)}: only ${v.persons} person(s); this matrix says little about the group as a whole.` : "");
  set(warn, "hidden", !low);
  const note = root.querySelector(".fx-cell-note");
  set(note, "innerHTML", v.cell ? `Gallery filtered to the clicked cell: true <b>${esc(v.cell[0])}</b> → predicted <b>${esc(v.cell[1])}</b>` : "Click a cell to show its faces in the gallery.");
  set(root.querySelector(".fx-clear"), "hidden", !v.cell);
  if (v.cell) attr(root, "data-cell", "1"); else if (root.hasAttribute("data-cell")) root.removeAttribute("data-cell");
}

function drawGallery(root, d, v) {
  const sig = v.shown.join(",");
  if (root.__sig !== sig) { root.__sig = sig; root.__page = 1; }
  const pages = Math.max(1, Math.ceil(v.shown.length / d.page_size));
  const page = Math.min(root.__page, pages);
  set(root.querySelector(".fx-cellinfo"), "hidden", !v.cell);
  const summary = root.querySelector(".fx-summary");
  set(summary, "innerHTML", v.shown.length ? esc(v.summary).replace(/^(\d+)/, "<b>$1</b>") :
    "No faces match these filters: widen them above.");
  const pager = root.querySelector(".fx-pager");
  set(pager, "hidden", pages <= 1);
  set(pager.querySelector(".fx-page"), "textContent", `Page ${page} of ${pages}`);
  set(pager.querySelector(".fx-prev"), "disabled", page <= 1);
  set(pager.querySelector(".fx-next"), "disabled", page >= pages);
  const part = v.shown.slice((page - 1) * d.page_size, page * d.page_size);
  const html = part.map((i) => {
    const r = d.rows[i], uri = store.thumbs[r[4]] ?? null;  // null: the file is missing or not an image
    const img = uri ? `<img src="${uri}" alt="" width="${d.thumb}">` : `<div class="fx-missing" style="width:${d.thumb}px;` +
      `height:${d.thumb}px">${r[4] ? "cannot read " + esc(r[5]) : "no image file"}</div>`;
    return `<figure>${img}<figcaption>${esc(r[3])}</figcaption></figure>`;
  }).join("");
  const grid = root.querySelector(".fx-grid");
  if (grid.__html !== html) { grid.innerHTML = html; grid.__html = html; }
}

// Draws the state the page holds; with ``check`` (the app's view of that state), draws the app's faces, matrix,
// title and summary instead of the browser's own.
function draw(root, check = null) {
  const d = root.__data;
  if (!d) return null;
  const own = view(d, root.__state);
  const v = check ? Object.assign({}, own, { shown: check.shown, counts: check.counts, title: check.title,
    summary: check.summary, cell: check.cell }) : own;
  drawFilters(root, d, root.__state);
  drawMatrix(root, d, v);
  drawGallery(root, d, v);
  return own;
}

// The filters, drawn as pills (any number chosen; none means all) and segments (one chosen).
function filterHtml(d, s) {
  const pills = (name, label, options, chosen, none) => `<div class="fx-filter" data-f="${name}"><p class="fx-label">${esc(label)}` +
    `${none ? ` <span>(none chosen: ${esc(none)})</span>` : ""}</p><div class="fx-options">` +
    options.map((o) => `<button type="button" data-v="${esc(o)}" aria-pressed="${chosen.includes(o)}"` +
      `${chosen.includes(o) ? ' class="on"' : ""}>${esc(o)}</button>`).join("") + "</div></div>";
  const left = d.groups.length ? pills("groups", "Groups", d.groups, s.groups, "all groups") +
    pills("cm_group", "Confusion matrix of", d.cm_options, [s.cm_group], null) : "";
  const right = `<div class="fx-classes">${pills("true", "True class", d.class_options, s.true, "any")}` +
    `${pills("pred", "Predicted class", d.class_options, s.pred, "any")}</div>` +
    pills("show", "Show", d.show_options, [s.show], null);
  return [left, right];
}

function drawFilters(root, d, s) {
  const [left, right] = filterHtml(d, s);
  const l = root.querySelector(".fx-filters-left"), r = root.querySelector(".fx-filters-right");
  if (l.__html !== left) { l.innerHTML = left; l.__html = left; }
  if (r.__html !== right) { r.innerHTML = right; r.__html = right; }
}

// A click on a filter: the new state drawn at once, then sent to the app (whose rerun confirms it).
function filterClick(root, button, send) {
  const s = root.__state, d = root.__data, f = button.closest(".fx-filter").dataset.f, v = button.dataset.v;
  const toggle = (list, order) => order.filter((o) => (o === v) !== list.includes(o));
  if (f === "groups") s.groups = toggle(s.groups, d.groups);
  else if (f === "true") s.true = toggle(s.true, d.class_options);
  else if (f === "pred") s.pred = toggle(s.pred, d.class_options);
  else if (f === "cm_group") s.cm_group = v;
  else if (f === "show") s.show = v;
  send({ groups: s.groups, cm_group: s.cm_group, true: s.true, pred: s.pred, show: s.show });
  later(() => draw(root));
}

function build(parentElement, setStateValue) {
  const root = document.createElement("div");
  root.className = "ferbias-fx";
  root.innerHTML = `<div class="fx-filters-left"></div><div class="fx-filters-right"></div>
    <div class="fx-matrix"><div class="fx-warn" hidden></div><div class="fx-svg"></div>
      <p class="fx-cell-note"></p><button type="button" class="fx-clear" hidden>Clear cell filter</button>
      <div class="fx-export-box"></div></div>
    <div class="fx-gallery"><p class="fx-cellinfo" hidden>Showing the clicked cell's faces. The class filters come back as they were with <b>Clear cell filter</b>.</p>
      <p class="fx-summary"></p>
      <div class="fx-pager" hidden><button type="button" class="fx-prev" aria-label="previous page">‹</button>
        <span class="fx-page"></span><button type="button" class="fx-next" aria-label="next page">›</button></div>
      <div class="fx-grid"></div></div>`;
  parentElement.appendChild(root);
  const sendCell = (cell) => { root.__state.cell = cell; setStateValue("cell", cell); later(() => draw(root)); };
  const pick = (event) => {
    const g = event.target.closest("g.cell[data-true]");
    if (g) sendCell([g.dataset.true, g.dataset.pred, view(root.__data, root.__state).matrixKey]);
  };
  root.querySelector(".fx-svg").addEventListener("click", pick);
  root.querySelector(".fx-svg").addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(e); }
  });
  root.querySelector(".fx-clear").addEventListener("click", () => sendCell(null));
  root.querySelector(".fx-prev").addEventListener("click", () => { root.__page -= 1; drawGallery(root, root.__data, view(root.__data, root.__state)); });
  root.querySelector(".fx-next").addEventListener("click", () => { root.__page += 1; drawGallery(root, root.__data, view(root.__data, root.__state)); });
  const filters = (event) => {
    const b = event.target.closest(".fx-filter button");
    if (b && root.__data) filterClick(root, b, (state) => setStateValue("filters", state));
  };
  root.querySelector(".fx-filters-left").addEventListener("click", filters);
  root.querySelector(".fx-filters-right").addEventListener("click", filters);
  return root;
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  const root = parentElement.querySelector("div.ferbias-fx") || build(parentElement, setStateValue);
  if (data.thumbs) { store.token = data.thumbs_token; store.thumbs = data.thumbs; }
  if (data.faces) { store.ctx = data.ctx; store.faces = data.faces; }
  if (store.ctx !== data.ctx || store.token !== data.thumbs_token) {  // not held here: ask the app again
    setStateValue("need", `${Date.now()}`);
    return;
  }
  root.__data = Object.assign({}, store.faces, data);
  drawExport(root.querySelector(".fx-export-box"), data.export, setStateValue);
  root.__state = JSON.parse(JSON.stringify(data.state));  // what the app's last run says
  const v = draw(root);
  const c = data.check;  // what the app's Python computed for that state: a difference is drawn as it says
  if (c && (!same(v.shown, c.shown) || !same(v.counts, c.counts) || v.title !== c.title || v.summary !== c.summary ||
            !same(v.cell, c.cell))) {
    attr(root, "data-corrections", String(+(root.getAttribute("data-corrections") || 0) + 1));
    console.warn("face explorer: the browser's view differed from the app's", { browser: v, app: c });
    draw(root, c);
  }
}
"""

CSS = EXPORT_CSS + """
.ferbias-fx { display: grid; grid-template-columns: 2fr 3fr; column-gap: 1rem; row-gap: 0.5rem; font-size: 0.875rem; }
.ferbias-fx .fx-filters-left { grid-area: 1 / 1; }
.ferbias-fx .fx-filters-right { grid-area: 1 / 2; }
.ferbias-fx .fx-matrix { grid-area: 2 / 1; }
.ferbias-fx .fx-gallery { grid-area: 2 / 2; }
.ferbias-fx .fx-filter { margin-bottom: 0.5rem; }
.ferbias-fx .fx-classes { display: grid; grid-template-columns: 1fr 1fr; column-gap: 1rem; }
.ferbias-fx[data-cell] .fx-filters-right { display: none; }
.ferbias-fx p.fx-label { margin: 0 0 0.25rem; font-size: 0.875rem; color: rgb(49, 51, 63); }
.ferbias-fx p.fx-label span { color: rgba(49, 51, 63, 0.6); }
.ferbias-fx .fx-options { display: flex; flex-wrap: wrap; gap: 0.25rem 0.5rem; }
.ferbias-fx .fx-options button { border-radius: 1rem; padding: 0.125rem 0.75rem; min-height: 2rem; }
.ferbias-fx .fx-options button.on { background: rgba(255, 75, 75, 0.1); border-color: #ff4b4b; color: #ff4b4b; }
.ferbias-fx g.cell { cursor: pointer; }
.ferbias-fx g.cell:hover rect, .ferbias-fx g.cell:focus rect { stroke: #222; stroke-width: 1.5; }
.ferbias-fx g.cell:focus { outline: none; }
.ferbias-fx .fx-warn { background: rgba(255, 189, 69, 0.2); color: #926c05; padding: 0.5rem 0.75rem;
  border-radius: 0.5rem; margin-bottom: 0.5rem; }
.ferbias-fx p { margin: 0.25rem 0 0.5rem; }
.ferbias-fx .fx-cell-note, .ferbias-fx .fx-cellinfo { color: rgba(49, 51, 63, 0.6); }
.ferbias-fx button { font: inherit; border: 1px solid rgba(49, 51, 63, 0.2); background: #fff; border-radius: 0.5rem;
  padding: 0.25rem 0.75rem; cursor: pointer; }
.ferbias-fx button:hover:not(:disabled) { border-color: #ff4b4b; color: #ff4b4b; }
.ferbias-fx button:disabled { opacity: 0.4; cursor: default; }
.ferbias-fx .fx-pager { display: flex; gap: 0.5rem; align-items: center; margin-bottom: 0.5rem; }
.ferbias-fx .fx-grid { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.ferbias-fx figure { margin: 0; width: 96px; }
.ferbias-fx figure img { display: block; }
.ferbias-fx figcaption { font-size: 0.7rem; line-height: 1.2; color: rgba(49, 51, 63, 0.6); overflow-wrap: anywhere; }
.ferbias-fx .fx-missing { background: #eee; font-size: 0.65rem; color: #666; overflow: hidden; display: flex;
  align-items: center; justify-content: center; text-align: center; overflow-wrap: anywhere; }
"""
