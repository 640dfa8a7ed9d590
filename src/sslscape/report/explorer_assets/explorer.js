// sslscape explorer: looks up values the Python theory computed (sslscape.report.explorer); no theory here.
"use strict";
(async function main() {
  const META = JSON.parse(document.getElementById("sslscape-data").textContent);
  const SLIDERS = ["weight_decay", "noise_scale", "temperature", "batch_size", "embed_dim"];
  const CHOICES = ["objective", "similarity", "protocol", "normalization"];
  const LABEL = {weight_decay: "weight decay γ", noise_scale: "augmentation strength s", temperature: "temperature τ",
                 batch_size: "batch size N", embed_dim: "embedding size d"};
  const KNOB_LABEL = {weight_decay: "weight decay", temperature: "temperature", noise_scale: "augmentation strength",
                      batch_size: "batch size"};
  const PHASE_NAMES = META.phase_names;  // code → 'complete' | 'dimensional' | 'none'
  const STOPS = META.stops;
  const timing = window.sslscapeTiming = {updates: [], ready: null, marks: {start: performance.now()}};
  const $ = (id) => document.getElementById(id);

  // ---- decoding the stored arrays (gzip + base64; DecompressionStream is built into the browser) ----
  function bytesOf(b64) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64.trim());  // native where the browser has it
    const bin = atob(b64.trim());
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function gunzip(b64) {
    const stream = new Blob([bytesOf(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).arrayBuffer();
  }
  const TYPES = {uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array};
  async function unpack(p) {
    const buf = await gunzip(p.gz);
    if (!p.delta) return {data: new TYPES[p.dtype](buf), strides: p.strides, shape: p.shape};
    // stored as byte planes of differences along the outermost axis (explorer.pack): join, then a running sum
    const bytes = new Uint8Array(buf), width = TYPES[p.dtype].BYTES_PER_ELEMENT, n = bytes.length / width;
    const data = new TYPES[p.dtype](n);
    if (width === 1) data.set(bytes);
    else if (width === 2) for (let i = 0; i < n; i++) data[i] = bytes[i] | (bytes[n + i] << 8);
    else for (let i = 0; i < n; i++) {
      let v = 0;
      for (let b = width - 1; b >= 0; b--) v = v * 256 + bytes[b * n + i];
      data[i] = v;
    }
    for (let i = p.delta; i < n; i++) data[i] += data[i - p.delta];  // the typed array wraps as Python's did
    return {data, strides: p.strides, shape: p.shape};
  }
  function at(arr, idx) {
    let o = 0;
    for (let k = 0; k < idx.length; k++) o += idx[k] * arr.strides[k];
    return arr.data[o];
  }
  function varies(arr, axis) { return arr.strides[axis] !== 0; }

  // plotly.js (cartesian bundle) is stored gzipped in the page (1.5 MB → 0.5 MB) and run from there (no network) once the values are
  // on screen: evaluating it is most of the load time
  let Plotly = null;
  async function loadPlotly() {
    const plotlyText = new TextDecoder().decode(await gunzip($("plotly-gz").textContent));
    timing.marks.plotly_unpacked = performance.now();
    const tag = document.createElement("script");
    tag.textContent = plotlyText;
    document.head.appendChild(tag);
    Plotly = window.Plotly;
    timing.marks.plotly_ready = performance.now();
  }

  // each choice's arrays are decoded when first needed: the spec's own choice before anything is shown, another
  // when the reader first picks it (a decode in the background would slow the first slider moves)
  const GRIDS = {}, DECODING = {};
  function ensureGrid(key) {
    const g = META.grids[key];
    if (!g || GRIDS[key]) return Promise.resolve();
    DECODING[key] = DECODING[key] || Promise.all(
      [unpack(g.alive), unpack(g.phase), unpack(g.spectra), unpack(g.critical_weight_decay)]).then(
      ([rank, phase, spectra, crit]) => { GRIDS[key] = {rank, phase, spectra, crit, log10: g.spectra_log10}; });
    return DECODING[key];
  }
  await ensureGrid(CHOICES.map((c) => META.spec[c]).join("|"));
  timing.marks.data_ready = performance.now();

  // ---- state ----
  const home = {};
  const state = {idx: {}, phaseY: null, seq: 0, adviseSeq: 0};
  function stopIndex(name, value) {
    const i = STOPS[name].findIndex((v) => v === value || (v !== null && value !== null && Math.abs(v - value) <= 1e-12 * Math.max(1, Math.abs(v))));
    return i < 0 ? 0 : i;
  }
  const specNoise = (META.spec.augmentation || {}).noise_scale;
  const homeValue = {weight_decay: META.spec.weight_decay, noise_scale: specNoise, temperature: META.spec.temperature,
                     batch_size: META.spec.batch_size, embed_dim: META.spec.embed_dim};
  for (const s of SLIDERS) home[s] = stopIndex(s, homeValue[s]);
  for (const c of CHOICES) state[c] = META.spec[c];
  Object.assign(state.idx, home);

  const fmt = (v) => v === null ? "∞" : (typeof v === "number" ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(2) : String(Number(v.toPrecision(4)))) : String(v));
  const val = (name, i) => STOPS[name][i === undefined ? state.idx[name] : i];
  const comboKey = () => CHOICES.map((c) => state[c]).join("|");
  const combo = () => META.combos.find((c) => c.key === comboKey());
  const grid = () => GRIDS[comboKey()];
  const ownKey = CHOICES.map((c) => META.spec[c]).join("|");

  function currentSpec() {
    const s = JSON.parse(JSON.stringify(META.spec));
    for (const c of CHOICES) s[c] = state[c];
    s.weight_decay = val("weight_decay");
    s.augmentation = Object.assign({}, s.augmentation, {noise_scale: val("noise_scale")});
    s.temperature = val("temperature");
    s.batch_size = val("batch_size");
    s.embed_dim = val("embed_dim");
    return s;
  }

  // ---- controls ----
  function buildChoices() {
    for (const c of CHOICES) {
      const sel = $("choice-" + c);
      const values = [...new Set(META.combos.map((x) => x[c]))];
      sel.innerHTML = values.map((v) => `<option value="${v}">${v.replace(/_/g, " ")}</option>`).join("");
      sel.value = state[c];
      sel.addEventListener("change", () => { pickChoice(c, sel.value); update(); });
    }
  }
  function pickChoice(changed, value) {
    // the valid choice with this value that keeps most of the others (precomputed ones first on ties)
    let best = null, bestScore = -1;
    for (const x of META.combos) {
      if (x[changed] !== value) continue;
      const score = CHOICES.filter((c) => x[c] === state[c]).length * 2 + (x.mode !== "serve" ? 1 : 0);
      if (score > bestScore) { best = x; bestScore = score; }
    }
    if (best) for (const c of CHOICES) state[c] = best[c];
  }
  function refreshChoices() {
    for (const c of CHOICES) {
      const sel = $("choice-" + c);
      sel.value = state[c];
      for (const opt of sel.options) {
        const ok = META.combos.some((x) => x[c] === opt.value && CHOICES.every((o) => o === c || x[o] === state[o]));
        const pre = META.combos.some((x) => x[c] === opt.value && x.mode !== "serve" && CHOICES.every((o) => o === c || x[o] === state[o]));
        opt.textContent = opt.value.replace(/_/g, " ") + (ok ? (pre || META.live ? "" : "  (--serve)") : "  (→ changes others)");
      }
    }
    const c = combo();
    const badge = $("choice-status");
    if (c.mode === "grid") {
      badge.className = "badge grid";
      badge.textContent = `closed form (${c.solver}): every setting precomputed by sslscape.theory`;
    } else if (c.mode === "lines") {
      badge.className = "badge grid";
      badge.textContent = `${c.why}. Move one slider at a time` + (META.live ? "; other settings are computed live." : ", or use --serve.");
    } else if (META.live) {
      badge.className = "badge live";
      badge.textContent = "computed live by the local server (" + c.why + ")";
    } else {
      badge.className = "badge serve";
      badge.innerHTML = "not precomputed — " + esc(c.why) + ". Start <code>sslscape explore SPEC --serve</code> to compute it live.";
    }
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, (ch) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[ch])); }

  function buildSliders() {
    const box = $("sliders");
    for (const s of SLIDERS) {
      const n = STOPS[s].length;
      const div = document.createElement("div");
      div.className = "slider";
      div.id = "box-" + s;
      div.innerHTML = `<div class="top"><span>${LABEL[s]}</span><span class="val" id="value-${s}"></span></div>
        <input type="range" id="slider-${s}" min="0" max="${n - 1}" step="1" value="${state.idx[s]}"
          aria-label="${LABEL[s]}" ${n < 2 ? "disabled" : ""}>
        <div class="ends"><span>${fmt(STOPS[s][0])}</span><span class="why" id="why-${s}"></span><span>${fmt(STOPS[s][n - 1])}</span></div>`;
      box.appendChild(div);
      div.querySelector("input").addEventListener("input", (ev) => {
        const t0 = performance.now();
        state.idx[s] = heldStop(s, Number(ev.target.value), state.idx[s]);
        update(t0);
      });
    }
    if (STOPS.noise_scale.length < 2) $("why-noise_scale").textContent = "the spec has no augmentation.noise_cov";
    $("reset").addEventListener("click", () => {
      Object.assign(state.idx, home);
      for (const c of CHOICES) state[c] = META.spec[c];
      update();
    });
  }
  // a 'lines' choice other than the spec's own is precomputed at some stops of each slider (null at the others): on
  // the static page the slider moves over those — to the nearest one beyond where it was, in the direction it was
  // moved; the live page asks the server for the others
  function lineOf(s) {
    const L = combo() && combo().mode === "lines" ? META.lines[comboKey()] : null;
    return L ? L[s] : null;
  }
  function heldStop(s, want, from) {
    const line = lineOf(s);
    if (META.live || !line || line[want]) return want;
    const held = [];
    line.forEach((q, i) => { if (q) held.push(i); });
    const ahead = held.filter((i) => (want > from ? i > from : want < from ? i < from : false));
    const pool = ahead.length ? ahead : held;
    let best = pool[0];
    for (const i of pool) if (Math.abs(i - want) < Math.abs(best - want)) best = i;
    return best;
  }
  function snapToHeld() {
    for (const s of SLIDERS) state.idx[s] = heldStop(s, state.idx[s], state.idx[s]);
  }
  function refreshSliders() {
    const g = grid();
    SLIDERS.forEach((s, axis) => {
      $("slider-" + s).value = state.idx[s];
      $("value-" + s).textContent = fmt(val(s)) + (state.idx[s] === home[s] ? "  (spec)" : "");
      if (s === "noise_scale" && STOPS[s].length < 2) return;
      let why = "";
      const line = lineOf(s);
      if (g && combo().mode === "grid") {  // read off the stored arrays: an axis they are constant along changes nothing shown
        const r = varies(g.rank, axis), sp = varies(g.spectra, axis);
        why = !r && !sp ? "no effect for this loss" : (!r ? "magnitudes only, not the rank" : "");
      } else if (line && line.some((q) => !q)) {
        why = `${line.filter((q) => q).length} of ${line.length} stops precomputed for this loss` +
          (META.live ? " (the others computed live)" : "");
      }
      $("why-" + s).textContent = why;
      $("box-" + s).classList.toggle("off", why === "no effect for this loss");
    });
  }

  // ---- values at the current setting ----
  // a 'lines' choice holds predict's answer at every stop of each slider through the spec's setting
  function lookupLine() {
    const L = META.lines[comboKey()];
    if (!L) return null;
    const moved = SLIDERS.filter((s) => state.idx[s] !== home[s]);
    if (moved.length > 1) return null;
    const q = moved.length ? L[moved[0]][state.idx[moved[0]]] : L.home;
    if (!q) return null;
    return {rank: q.rank, alive: q.alive, phase: PHASE_NAMES[q.phase], maxRank: q.capacity, spectrum: q.spectrum,
            critical: q.critical, solver: q.solver, source: "precomputed"};
  }
  function decode(code, log10) { return code === 0 ? 0 : Math.pow(10, log10[0] + (code - 1) / 65534 * (log10[1] - log10[0])); }
  function lookupPoint() {
    const g = grid();
    const ix = SLIDERS.map((s) => state.idx[s]);
    const d = val("embed_dim");
    const spectrum = [];
    for (let k = 0; k < d; k++) spectrum.push(decode(at(g.spectra, [...ix, k]), g.log10));
    const crit = [];
    for (let k = 0; k < g.crit.shape[3]; k++) crit.push(at(g.crit, [ix[1], ix[2], ix[3], k]));
    const kept = at(g.rank, ix);
    return {rank: kept, alive: kept, phase: PHASE_NAMES[at(g.phase, ix)], maxRank: META.capacity[ix[4]], spectrum,
            critical: crit, source: "precomputed"};
  }

  // ---- rendering ----
  const PHASE_TEXT = {
    none: (r, m) => `No collapse: all ${m} direction${m === 1 ? "" : "s"} the embedding can hold survive.`,
    dimensional: (r, m) => `Dimensional collapse: ${r} of ${m} directions survive, ${m - r} collapse to zero variance.`,
    complete: () => "Complete collapse: every direction collapses — the encoder learns W = 0.",
  };
  function renderVerdict(p) {
    $("rank").textContent = p.rank;
    $("max-rank").textContent = p.maxRank;
    const ph = $("phase");
    ph.className = "phase " + p.phase;
    ph.textContent = p.phase === "none" ? "no collapse" : p.phase + " collapse";
    $("phase-words").textContent = PHASE_TEXT[p.phase](p.rank, p.maxRank);
    const d = val("embed_dim");
    let next = "";
    const c = p.critical;
    if (c && p.rank >= 1 && c[p.rank - 1] > 0) next += `The weakest surviving direction (${p.rank}) dies above γ*${sub(p.rank)} = ${fmt(c[p.rank - 1])}. `;
    if (c && p.rank < p.maxRank && c[p.rank] > 0) next += `Direction ${p.rank + 1} comes back below γ*${sub(p.rank + 1)} = ${fmt(c[p.rank])}.`;
    else if (c && p.rank < p.maxRank) next += `Direction ${p.rank + 1} has no positive critical weight decay: no γ ≥ 0 revives it here.`;
    if (p.maxRank < d) next += ` The data has rank ${p.maxRank} < d = ${d}.`;
    if (p.alive !== undefined && p.alive !== p.rank) next += ` The theory keeps ${p.alive} (the weakest below the collapse rule's cut).`;
    if (p.solver) next += ` Solver: ${p.solver}.`;
    $("next-words").textContent = next;
    const rows = [];
    for (let k = 1; k <= p.maxRank; k++) {
      const alive = k <= p.rank;
      const v = p.spectrum[k - 1];
      rows.push(`<tr><td>${k}</td><td>${alive ? fmt(v) : "0"}</td><td>${c ? (c[k - 1] > 0 ? fmt(c[k - 1]) : "never grows") : "n/a"}</td>
        <td class="${alive ? "alive" : "dead"}">${alive ? "survives" : "collapsed"}</td></tr>`);
    }
    $("critical").querySelector("tbody").innerHTML = rows.join("");
  }
  function sub(k) { return String(k).split("").map((ch) => "₀₁₂₃₄₅₆₇₈₉"[Number(ch)]).join(""); }

  function plotSpectrum(p, log10) {
    // fixed axes per loss (all directions the largest embedding holds; 4 decades under the loss's largest value),
    // so moving a slider restyles the bars only and their heights compare across settings
    const dMax = Math.max(...STOPS.embed_dim);
    const alive = [], dead = [];
    p.spectrum.forEach((v, k) => (k < p.rank ? alive : dead).push(k + 1));
    const vals = alive.map((k) => p.spectrum[k - 1]);
    const hi = log10 ? log10[1] : Math.log10(Math.max(...vals.filter((v) => v > 0), 1e-300));
    const lo = Math.floor(hi + 0.35 - 4);
    const floorY = Math.pow(10, lo + 0.12);
    const x = [alive, dead], y = [vals.map((v) => Math.max(v, floorY)), dead.map(() => floorY)];
    const note = p.rank === 0 ? "complete collapse: W = 0" : "";
    const key = [comboKey(), lo].join("|");
    if (spectrumDrawn === key) {
      const gd = $("spectrum-plot");
      if ((gd.layout.annotations[0].text || "") !== note) Plotly.relayout(gd, {"annotations[0].text": note});
      return Plotly.restyle(gd, {x, y}, [0, 1]);
    }
    const traces = [
      {type: "bar", x: x[0], y: y[0], name: "surviving direction", marker: {color: "#1f77b4"},
       hovertemplate: "direction %{x}: variance %{y:.4g}<extra></extra>"},
      {type: "scatter", mode: "markers", x: x[1], y: y[1], name: "collapsed (variance 0)",
       marker: {symbol: "x-thin-open", size: 13, color: "#9aa0a6", line: {width: 2.5}},
       hovertemplate: "direction %{x}: collapsed<extra></extra>"},
    ];
    const layout = {margin: {l: 62, r: 12, t: 34, b: 44}, showlegend: true, legend: {orientation: "h", y: 1.01, yanchor: "bottom", x: 0},
      xaxis: {title: {text: "direction k (largest variance first)"}, tickmode: dMax <= 20 ? "linear" : "auto", dtick: 1,
              range: [0.4, dMax + 0.6]},
      yaxis: {title: {text: "variance of z along k"}, type: "log", range: [lo, hi + 0.35], exponentformat: "power", dtick: 1},
      bargap: 0.25, annotations: [{text: note, x: 0.5, y: 0.6, xref: "paper", yref: "paper", showarrow: false,
                                   font: {size: 15, color: "#cf222e"}}]};
    spectrumDrawn = key;
    return Plotly.react("spectrum-plot", traces, layout, {displayModeBar: false, responsive: true});
  }
  let spectrumDrawn = null;

  const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137],
                   [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37]];
  function viridis(t) {
    const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1), i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i;
    const c = VIRIDIS[i].map((a, j) => Math.round(a + f * (VIRIDIS[i + 1][j] - a)));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  function discreteScale(n) {  // n + 1 levels 0 … n, one flat colour each
    const out = [];
    for (let i = 0; i <= n; i++) {
      const col = viridis(n === 0 ? 0 : i / n);
      out.push([i / (n + 1), col], [(i + 1) / (n + 1), col]);
    }
    return out;
  }
  function phaseAxes() { return SLIDERS.filter((s) => s !== "weight_decay" && STOPS[s].length > 1); }
  const phaseCache = {key: null, traces: null, right: null};
  function phaseTraces(g, yName) {
    // the heatmap and threshold lines depend on every slider but the two axes: rebuilt only when one of those
    // moves, so a move along an axis hands plotly the same arrays (plotly.react then redraws the marker only)
    const yAxis = SLIDERS.indexOf(yName);
    const base = SLIDERS.map((s) => state.idx[s]);
    const key = [comboKey(), yName, ...SLIDERS.map((s, a) => (a === 0 || a === yAxis ? "*" : base[a]))].join("|");
    if (phaseCache.key === key) return phaseCache;
    const ys = STOPS[yName], xs = STOPS.weight_decay;
    const z = ys.map((_, j) => xs.map((_, i) => { const ix = base.slice(); ix[0] = i; ix[yAxis] = j; return at(g.rank, ix); }));
    const top = Math.max(...META.capacity);
    const traces = [{type: "heatmap", x: xs, y: ys.map((_, j) => j), z, zmin: -0.5, zmax: top + 0.5,
      colorscale: discreteScale(top), colorbar: {title: {text: "rank", side: "right"}, tickvals: [...Array(top + 1).keys()], len: 0.9, thickness: 14},
      hovertemplate: "γ = %{x}<br>" + LABEL[yName] + " = %{text}<br>rank %{z}<extra></extra>",
      text: ys.map((y) => xs.map(() => fmt(y)))}];
    // critical weight decays γ*_k at each row: white, the phase borders (k = 1 and k = max rank) black
    const rowMax = ys.map((_, j) => META.capacity[yName === "embed_dim" ? j : state.idx.embed_dim]);
    const critAt = (j, k) => { const ix = [base[1], base[2], base[3]]; if (yAxis >= 1 && yAxis <= 3) ix[yAxis - 1] = j; return at(g.crit, [...ix, k]); };
    const kMax = Math.max(...rowMax);
    for (let k = 0; k < kMax; k++) {
      const px = [], py = [];
      ys.forEach((_, j) => { const v = critAt(j, k); if (k < rowMax[j] && v > 0) { px.push(v); py.push(j); } else { px.push(null); py.push(null); } });
      traces.push({type: "scatter", mode: "lines", x: px, y: py, line: {color: "rgba(255,255,255,0.75)", width: 1.3},
        name: "γ*ₖ: direction k dies", showlegend: k === 0, hoverinfo: "skip", connectgaps: false});
    }
    const border = (pick) => { const px = [], py = []; ys.forEach((_, j) => { const k = pick(j); const v = k >= 0 ? critAt(j, k) : 0; px.push(v > 0 ? v : null); py.push(v > 0 ? j : null); }); return {px, py}; };
    const b1 = border(() => 0), bm = border((j) => rowMax[j] - 1);
    traces.push({type: "scatter", mode: "lines", x: b1.px, y: b1.py, line: {color: "black", width: 2.4}, name: "phase border", hoverinfo: "skip"});
    traces.push({type: "scatter", mode: "lines", x: bm.px, y: bm.py, line: {color: "black", width: 2.4}, showlegend: false, hoverinfo: "skip"});
    const firstCrit = b1.px.filter((v) => v !== null);
    Object.assign(phaseCache, {key, traces, firstCrit});
    return phaseCache;
  }
  let phaseDrawn = null;  // the cache key of the traces on screen
  function placeStar() {
    // the current setting: an element over the plot, placed from plotly's axes (moving it redraws nothing)
    const gd = $("phase-plot"), star = $("phase-star"), fl = gd._fullLayout;
    if (!fl || !fl.xaxis || !phaseDrawn) { star.hidden = true; return; }
    const x = fl.xaxis.l2p(val("weight_decay")) + fl._size.l, y = fl.yaxis.l2p(state.idx[state.phaseY]) + fl._size.t;
    star.style.left = `${x}px`;
    star.style.top = `${y}px`;
    star.hidden = false;
  }
  function plotPhase() {
    const g = grid();
    const yName = state.phaseY;
    const ys = STOPS[yName], xs = STOPS.weight_decay;
    const cached = phaseTraces(g, yName);
    if (phaseDrawn === cached.key) { placeStar(); return Promise.resolve(); }
    const legendStar = {type: "scatter", mode: "markers", x: [null], y: [null], name: "this setting",
      marker: {symbol: "star", size: 15, color: "#ff2d55"}};
    const dx = xs.length > 1 ? (xs[1] - xs[0]) / 2 : 0.5;
    // zoom the x-axis to where this loss changes (1.3 × its largest γ*₁ over the rows); the data span all stops
    const fc = cached.firstCrit;
    const right = fc.length ? Math.min(xs[xs.length - 1] + dx, 1.3 * Math.max(...fc)) : xs[xs.length - 1] + dx;
    const layout = {margin: {l: 70, r: 8, t: 34, b: 44}, legend: {orientation: "h", y: 1.01, yanchor: "bottom", x: 0},
      xaxis: {title: {text: "weight decay γ"}, range: [xs[0] - dx, Math.max(right, xs[Math.min(2, xs.length - 1)])]},
      yaxis: {title: {text: LABEL[yName]}, tickmode: "array", tickvals: ys.map((_, j) => j), ticktext: ys.map(fmt),
              range: [-0.5, ys.length - 0.5]}};
    $("phase-note").textContent = "colour: predicted rank at each slider stop; lines: the critical weight decays there. Click a cell to move there.";
    phaseDrawn = cached.key;
    return Plotly.react("phase-plot", [...cached.traces, legendStar], layout, {displayModeBar: false, responsive: true})
      .then(() => placeStar());
  }

  function blank(id, text) {
    if (!Plotly) return Promise.resolve();
    if (id === "phase-plot") { phaseDrawn = null; $("phase-star").hidden = true; }
    if (id === "spectrum-plot") spectrumDrawn = null;
    return Plotly.react(id, [], {xaxis: {visible: false}, yaxis: {visible: false}, margin: {l: 10, r: 10, t: 10, b: 10},
      annotations: [{text, x: 0.5, y: 0.5, xref: "paper", yref: "paper", showarrow: false, font: {size: 13, color: "#57606a"}}]},
      {displayModeBar: false, responsive: true});
  }

  // ---- advise ----
  function renderAdvice(a, movedKnob) {
    const box = $("advise-answer");
    if (!a.possible) { box.innerHTML = `<span class="bad">no value does it:</span> ${esc(a.reason)}`; return; }
    const [lo, hi] = a.interval;
    const span = `[${fmt(lo)}, ${hi === null ? "∞" : fmt(hi)})`;
    const cur = val(a.knob === "noise_scale" ? "noise_scale" : a.knob);
    const curNum = cur === null ? Infinity : cur;
    const inside = curNum >= lo && (hi === null || curNum < hi);
    let text = `<span class="ok">${KNOB_LABEL[a.knob]} in ${span}</span> keeps exactly ${a.keep} direction${a.keep === 1 ? "" : "s"}`;
    if (movedKnob) text += inside ? ` — the current ${fmt(cur)} is inside.` : ` — the current ${fmt(cur)} is outside; move it into ${span}.`;
    else text += `.<br>${esc(a.reason)}.`;
    if (a.intervals.length > 1) text += `<br>all intervals: ${a.intervals.map(([l, h]) => `[${fmt(l)}, ${h === null ? "∞" : fmt(h)})`).join(", ")}`;
    box.innerHTML = text;
  }
  async function updateAdvice() {
    const kEl = $("advise-k");
    const knob = $("advise-knob").value;
    const K = Math.max(0, Math.floor(Number(kEl.value) || 0));
    const note = $("advise-note");
    if (META.live) {
      const seq = ++state.adviseSeq;
      $("advise-answer").textContent = "asking the local server…";
      note.textContent = "";
      try {
        const res = await fetch(`/api/advise?keep=${K}&knob=${knob}&spec=${encodeURIComponent(JSON.stringify(currentSpec()))}`);
        const body = await res.json();
        if (seq !== state.adviseSeq) return;
        if (!res.ok) { $("advise-answer").textContent = body.error; return; }
        renderAdvice(body, false);
        note.textContent = `computed now by sslscape.theory.advise (${body.method}, order ${body.order}).`;
      } catch (err) { $("advise-answer").textContent = "the local server did not answer: " + err; }
      return;
    }
    const a = META.advice[`${comboKey()}|${knob}|${K}`];
    const moved = SLIDERS.filter((s) => s !== knob && state.idx[s] !== home[s]);
    const cmd = `sslscape advise SPEC --keep ${K} --knob ${knob}`;
    if (a && moved.length === 0) {
      renderAdvice(a, state.idx[knob] !== home[knob]);
      note.innerHTML = `precomputed by sslscape.theory.advise at the spec's setting (${a.method}); the same as <code>${cmd}</code>.`;
    } else {
      const none = Object.keys(META.advice).length === 0;
      const why = !a ? (none ? "no advise answers were precomputed for this page"
                             : (comboKey() !== ownKey ? "advise is precomputed for the spec's own loss only"
                                                      : `no precomputed answer for K = ${K}`))
                     : `advise is precomputed at the spec's own setting; moved: ${moved.map((s) => LABEL[s]).join(", ")}`;
      $("advise-answer").innerHTML = `<span class="muted">${esc(why)}.</span>`;
      note.innerHTML = `Ask at this setting: copy the spec and run <code>${cmd}</code>, or start <code>sslscape explore SPEC --serve</code>.`;
    }
  }

  // ---- live answers (served page) ----
  async function livePredict() {
    const seq = ++state.seq;
    const res = await fetch(`/api/predict?spec=${encodeURIComponent(JSON.stringify(currentSpec()))}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error);
    return {seq, p: body};
  }

  // ---- one update of everything ----
  let pendingLive = null;
  async function update(t0) {
    t0 = t0 === undefined ? performance.now() : t0;
    if (combo().mode === "grid" && !grid()) await ensureGrid(comboKey());  // a choice not decoded yet
    snapToHeld();  // a choice precomputed at fewer stops: onto the nearest of them
    refreshChoices();
    refreshSliders();
    $("spec-json").textContent = JSON.stringify(currentSpec(), null, 1);
    $("advise-k").max = META.capacity[state.idx.embed_dim];
    const c = combo();
    const jobs = [];
    $("live-thresholds").textContent = "";
    const line = c.mode === "lines" ? lookupLine() : null;
    if (c.mode === "grid") {
      const p = lookupPoint();
      renderVerdict(p);
      if (Plotly) jobs.push(plotSpectrum(p, grid().log10), plotPhase());
      if (META.live) liveThresholds();
    } else if (line) {
      renderVerdict(line);
      if (Plotly) jobs.push(plotSpectrum(line, null),
        blank("phase-plot", `${c.solver}: no vectorised phase diagram — sslscape phase SPEC solves it cell by cell`));
      if (META.live) liveThresholds();
    } else if (c.mode === "lines" && !META.live) {
      $("rank").textContent = "·";
      $("max-rank").textContent = META.capacity[state.idx.embed_dim];
      $("phase").className = "phase unknown";
      $("phase").textContent = "one slider at a time";
      $("phase-words").textContent = "This loss is precomputed along each slider through the spec's setting: move one slider at a time (back to the spec's setting with the button).";
      $("next-words").innerHTML = "Or start <code>sslscape explore SPEC --serve</code>, or run <code>sslscape predict</code> on the copied spec.";
      $("critical").querySelector("tbody").innerHTML = "";
      jobs.push(blank("spectrum-plot", "move one slider at a time (or --serve)"), blank("phase-plot", "move one slider at a time (or --serve)"));
    } else if (META.live) {
      $("phase-words").textContent = "computing on the local server (a numerical solve: seconds to a minute)…";
      $("rank").textContent = "…";
      jobs.push(blank("phase-plot", "no precomputed phase diagram here: sslscape phase SPEC solves it cell by cell"));
      const mine = pendingLive = livePredict().then(({p}) => {
        if (mine !== pendingLive) return;
        const q = {rank: p.rank, alive: p.alive, phase: p.phase, maxRank: p.capacity, spectrum: p.spectrum,
                   critical: p.thresholds.critical_weight_decay, solver: p.solver, source: "live"};
        renderVerdict(q);
        if (Plotly) plotSpectrum(q, null);
        $("live-thresholds").textContent = `computed now by sslscape.theory.predict (solver ${p.solver}, order ${p.order}, ${p.method}). ` + p.notes.join(" ");
      }).catch((err) => { $("phase-words").textContent = "the local server said: " + err.message; });
    } else {
      $("rank").textContent = "·";
      $("max-rank").textContent = META.capacity[state.idx.embed_dim];
      $("phase").className = "phase unknown";
      $("phase").textContent = "not precomputed";
      $("phase-words").textContent = `${c.objective} with ${c.similarity} similarity and ${c.normalization} normalisation: ${c.why}.`;
      $("next-words").innerHTML = "Start <code>sslscape explore SPEC --serve</code> to compute it live, or run <code>sslscape predict</code> on the copied spec (it says how long it takes).";
      $("critical").querySelector("tbody").innerHTML = "";
      jobs.push(blank("spectrum-plot", "not precomputed: a numerical solve (--serve)"),
                blank("phase-plot", "not precomputed: a numerical solve (--serve)"));
    }
    jobs.push(updateAdvice());
    await Promise.all(jobs);
    await new Promise((r) => requestAnimationFrame(() => r()));
    timing.updates.push(performance.now() - t0);
  }
  async function liveThresholds() {
    try {
      const {p} = await livePredict();
      const th = p.thresholds;
      const list = (v) => (v === null || v === undefined ? "n/a" : (v.length ? v.map(fmt).join(", ") : "none (never changes the rank)"));
      $("live-thresholds").textContent = `critical augmentation strengths s*: ${list(th.critical_noise_scale)}; critical temperatures τ*: ${list(th.critical_temperature)} (sslscape.theory.predict, now).`;
    } catch (err) { $("live-thresholds").textContent = ""; }
  }

  // ---- copy spec ----
  $("copy-spec").addEventListener("click", async () => {
    const text = JSON.stringify(currentSpec(), null, 2);
    window.sslscapeCopied = text;
    try {
      await navigator.clipboard.writeText(text);
      $("copy-status").textContent = "copied ✓";
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand && document.execCommand("copy");
      area.remove();
      $("copy-status").textContent = ok ? "copied ✓" : "select the text below and copy it";
    }
  });

  // ---- start ----
  buildChoices();
  buildSliders();
  const axes = phaseAxes();
  state.phaseY = axes.includes("noise_scale") ? "noise_scale" : (axes[0] || "embed_dim");
  $("phase-y").innerHTML = axes.map((s) => `<option value="${s}">against ${LABEL[s]}</option>`).join("");
  $("phase-y").value = state.phaseY;
  $("phase-y").addEventListener("change", (ev) => { state.phaseY = ev.target.value; update(); });
  $("advise-knob").innerHTML = Object.entries(KNOB_LABEL).map(([k, l]) => `<option value="${k}">${l}</option>`).join("");
  $("advise-k").value = GRIDS[ownKey] ? at(GRIDS[ownKey].rank, SLIDERS.map((s) => home[s]))
    : (META.lines[ownKey] ? META.lines[ownKey].home.alive : META.capacity[home.embed_dim]);
  $("advise-k").addEventListener("input", () => updateAdvice());
  $("advise-knob").addEventListener("change", () => updateAdvice());
  const nPre = Object.keys(META.grids).length, nLines = Object.keys(META.lines).length, nAll = META.combos.length;
  const points = STOPS.weight_decay.length * STOPS.noise_scale.length * STOPS.temperature.length * STOPS.batch_size.length * STOPS.embed_dim.length;
  $("source").innerHTML = `Spec: <b>${esc(META.spec.objective)}</b>, data dimension D = ${META.dim}, depth ${META.spec.depth}. ` +
    (META.live ? "Live page: the local server computes what is not precomputed. " : "Static page: ") +
    `${nPre} of ${nAll} loss choices have the closed form and are precomputed at all ${points.toLocaleString()} slider settings, ${nLines} more along each slider through the spec's setting, by sslscape.theory's solver table (the page only looks values up).`;
  $("about").innerHTML = "Theory: Ziyin, Lubana, Ueda &amp; Tanaka, <i>What shapes the loss landscape of self-supervised learning?</i> (ICLR 2023). " +
    "Linear encoder; direction k survives while γ &lt; γ*<sub>k</sub>. " + META.notes.map(esc).join(" ") +
    `. Page built in ${META.build_s.toFixed(1)} s.`;
  const graph = $("phase-plot");
  $("loading").hidden = true;
  $("app").hidden = false;
  $("spectrum-plot").textContent = $("phase-plot").textContent = "drawing…";
  await update();
  timing.marks.values_shown = performance.now();
  await new Promise((r) => setTimeout(r, 0));  // let the browser paint the values before plotly.js is evaluated
  await loadPlotly();
  $("spectrum-plot").textContent = $("phase-plot").textContent = "";
  await update();
  timing.marks.first_render = performance.now();
  graph.on("plotly_click", (ev) => {
    const pt = ev.points && ev.points[0];
    if (!pt || pt.data.type !== "heatmap") return;
    state.idx.weight_decay = pt.pointIndex[1];
    state.idx[state.phaseY] = pt.pointIndex[0];
    update();
  });
  timing.ready = performance.now();
  window.explorerReady = true;
})().catch((err) => {
  console.error("sslscape explorer failed:", err);
  const box = document.getElementById("loading");
  box.hidden = false;
  box.textContent = "The explorer could not start: " + err + ". It needs a current browser (DecompressionStream).";
});
