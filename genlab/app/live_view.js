// genlab's live 3D voxel view (genlab/viz/live.py): one Plotly div per element, updated in place,
// and slider moves drawn in the browser from a sweep of decoded grids sent with each rerun.
const cameras = (window.__genlabCameras = window.__genlabCameras || {});
const roots = (window.__genlabLiveRoots = window.__genlabLiveRoots || new Set());

function loadPlotly(url) {
  if (!window.__genlabPlotly) {
    window.__genlabPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__genlabPlotly = null; reject(new Error("could not load " + url)); };
      document.head.appendChild(script);
    });
  }
  return window.__genlabPlotly;
}

// Streamlit's widget code, read ahead (live_view.WIDGET_CHUNKS): the same module URLs Streamlit
// imports when a page first shows such a widget, resolved like its own main script.
function readWidgets(chunks) {
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return Promise.resolve();
  return Promise.all((chunks || []).map((name) => import(new URL(name, main.src).href).catch(() => null)));
}

// A 3D scene made on a page without a 3D view (live_view.prepare), in the view's own layout and trace
// style, with Streamlit's widget code and plotly.js read: making the scene (WebGL context, shaders,
// axes, colour bar) is the slow part of a first draw. It is made once the browser is idle on a page
// that shows no view, or at once when a view needs it first (adoptScene); the view that takes it
// over only draws its mesh, and the next one is then readied for the next visit.
function prepareScene(data) {
  if (window.__genlabPrep) return;
  let made = null;
  const prep = { data, start: () => (made = made || makeScene(data, prep)) };
  window.__genlabPrep = prep;
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 200));
  const whenNoView = () => idle(() => {
    if (window.__genlabPrep !== prep || made) return;
    if ([...roots].some((root) => root.isConnected)) setTimeout(whenNoView, 1000);   // a view's page: later
    else prep.start();
  }, { timeout: 2000 });
  whenNoView();
}

async function makeScene(data, prep) {
  try {
    const [Plotly] = await Promise.all([loadPlotly(data.plotly_url), readWidgets(data.chunks)]);
    const div = document.createElement("div");
    div.style.cssText = `position: fixed; left: -5000px; top: 0; width: 800px; height: ${data.layout.height}px;`;
    document.body.appendChild(div);
    const triangle = { x: [0, 1, 0], y: [0, 0, 1], z: [0, 0, 0], i: [0], j: [1], k: [2], values: [0.5], mode: "cell" };
    await Plotly.newPlot(div, [meshTrace(data, { mesh: triangle })], data.layout,
      { displaylogo: false, responsive: true });
    div.__genlabMode = "cell";        // its colours: a view in another colour mode starts it afresh (draw)
    window.__genlabSpare = div;
    return div;
  } catch (error) {
    if (window.__genlabPrep === prep) window.__genlabPrep = null;   // only a head start: a view makes its own
    return null;
  }
}

// Returns the plot div a view draws in: the prepared scene (hurried if it was waiting for the browser
// to be idle), put in place of `plot`, when `plot` has never been drawn and no other view took the
// scene; else `plot` itself.
async function adoptScene(plot) {
  const prep = window.__genlabPrep;
  if (!prep || plot._fullLayout) return plot;
  const spare = await prep.start();
  if (!spare || window.__genlabSpare !== spare) return plot;
  window.__genlabSpare = null;
  window.__genlabPrep = null;
  prepareScene(prep.data);                      // the next one, for the next visit
  spare.style.cssText = "";
  spare.classList.add(...plot.classList);     // keeping Plotly's own class: without it, react starts afresh
  plot.replaceWith(spare);
  return spare;
}

function bytes(base64) {
  const text = atob(base64 || "");
  const out = new Uint8Array(text.length);
  for (let n = 0; n < text.length; n++) out[n] = text.charCodeAt(n);
  return out;
}

function typed(base64, Type) {
  return new Type(bytes(base64).buffer);
}

async function inflate(base64) {
  // zlib.compress output is the "deflate" format of the Compression Streams API.
  const stream = new Blob([bytes(base64)]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// The six face directions (axis, sign) in the order of genlab/viz/mesh.py _FACE_CORNERS, each
// with its four corners (offsets from the voxel's low corner) wound so the normal points out.
const FACES = [];
for (let axis = 0; axis < 3; axis++) {
  const u = (axis + 1) % 3, v = (axis + 2) % 3;
  for (const sign of [1, -1]) {
    const square = sign > 0 ? [[0, 0], [1, 0], [1, 1], [0, 1]] : [[0, 1], [1, 1], [1, 0], [0, 0]];
    const corners = square.map(([du, dv]) => {
      const corner = [0, 0, 0];
      corner[axis] = sign > 0 ? 1 : 0;
      corner[u] = du;
      corner[v] = dv;
      return corner;
    });
    FACES.push({ axis, sign, corners });
  }
}

// Returns the culled cube faces of the voxels whose level is at least `atLeast` (the faces of
// genlab.viz.mesh.voxel_mesh, in its order), welded: x, y, z (screen axes: x <- array axis 2,
// y <- axis 1, z <- axis 0), triangles i, j, k and each triangle's voxel level.
export function gridMesh(levels, shape, atLeast) {
  const [D, H, W] = shape;
  const filled = (a, b, c) => a >= 0 && b >= 0 && c >= 0 && a < D && b < H && c < W &&
    levels[(a * H + b) * W + c] >= atLeast;
  const vertexOf = new Int32Array((D + 1) * (H + 1) * (W + 1)).fill(-1);
  const x = [], y = [], z = [], i = [], j = [], k = [], cell = [];
  const vertex = (a, b, c) => {
    const key = (a * (H + 1) + b) * (W + 1) + c;
    if (vertexOf[key] < 0) {
      vertexOf[key] = x.length;
      x.push(c); y.push(b); z.push(a);
    }
    return vertexOf[key];
  };
  for (const { axis, sign, corners } of FACES) {
    for (let a = 0; a < D; a++) for (let b = 0; b < H; b++) for (let c = 0; c < W; c++) {
      if (!filled(a, b, c)) continue;
      const next = [a, b, c];
      next[axis] += sign;
      if (filled(next[0], next[1], next[2])) continue;
      const ids = corners.map(([da, db, dc]) => vertex(a + da, b + db, c + dc));
      i.push(ids[0], ids[0]); j.push(ids[1], ids[2]); k.push(ids[2], ids[3]);
      const level = levels[(a * H + b) * W + c];
      cell.push(level, level);
    }
  }
  return {
    x: Float32Array.from(x), y: Float32Array.from(y), z: Float32Array.from(z),
    i: Int32Array.from(i), j: Int32Array.from(j), k: Int32Array.from(k), cell: Uint8Array.from(cell),
  };
}

function meshTrace(data, picture) {
  // picture: {mesh: {x, y, z, i, j, k, values | null, mode}, note}
  const { mesh } = picture;
  const t = { ...data.trace, type: "mesh3d", x: mesh.x, y: mesh.y, z: mesh.z, i: mesh.i, j: mesh.j, k: mesh.k };
  if (mesh.values) {
    Object.assign(t, { intensity: mesh.values, intensitymode: mesh.mode, showscale: true });
    delete t.color;
  } else {
    for (const name of ["colorscale", "cmin", "cmax", "colorbar"]) delete t[name];
    Object.assign(t, { showscale: false });
  }
  return t;
}

// Returns the picture of a grid of levels at the data's threshold and colour mode.
function cubesPicture(data, levels) {
  const view = data.view;
  const built = gridMesh(levels, view.shape, view.threshold_level);
  const values = view.one_colour ? null : Float32Array.from(built.cell, (level) => level / data.levels);
  return {
    mesh: { ...built, values, mode: "cell" },
    note: built.i.length ? "" : `no voxel reaches the threshold ${view.threshold.toFixed(2)}`,
    colours: view.one_colour ? "one colour" : "cell",
  };
}

function surfacePicture(data) {
  const m = data.view.mesh;
  const xyz = typed(m.vertices, Float32Array);
  const count = xyz.length / 3;
  const x = new Float32Array(count), y = new Float32Array(count), z = new Float32Array(count);
  for (let n = 0; n < count; n++) { x[n] = xyz[3 * n]; y[n] = xyz[3 * n + 1]; z[n] = xyz[3 * n + 2]; }
  const corners = typed(m.triangles, m.index_type === "uint32" ? Uint32Array : Uint16Array);
  const i = new Int32Array(m.count), j = new Int32Array(m.count), k = new Int32Array(m.count);
  for (let n = 0; n < m.count; n++) { i[n] = corners[3 * n]; j[n] = corners[3 * n + 1]; k[n] = corners[3 * n + 2]; }
  const values = m.values ? Float32Array.from(typed(m.values, Uint8Array), (v) => v / 255) : null;
  return {
    mesh: { x, y, z, i, j, k, values, mode: "vertex" },
    note: m.count ? "" : `no voxel reaches the threshold ${data.view.threshold.toFixed(2)}`,
    colours: values ? "vertex" : "one colour",
  };
}

async function draw(root, data, picture) {
  const Plotly = await loadPlotly(data.plotly_url);
  const fresh = root.querySelector(".genlab-plot");
  const plot = await adoptScene(fresh);
  const key = data.camera_key;
  const layout = JSON.parse(JSON.stringify(data.layout));
  layout.scene.camera = cameras[key] || layout.scene.camera;
  // Plotly.react keeps a mesh's old colouring when it switches between per-value colours and
  // one colour, so a change of colour mode starts the plot afresh (the camera is kept above).
  if (plot.__genlabMode !== undefined && plot.__genlabMode !== picture.colours) {
    Plotly.purge(plot);
    plot.__genlabListening = false;
  }
  plot.__genlabMode = picture.colours;
  await Plotly.react(plot, [meshTrace(data, picture)], layout, { displaylogo: false, responsive: true });
  if (plot !== fresh) Plotly.Plots.resize(plot);   // a prepared scene was sized off the page
  if (!plot.__genlabListening) {
    plot.__genlabListening = true;
    plot.on("plotly_relayout", (event) => {
      if (event && event["scene.camera"]) cameras[root.__genlabKey] = event["scene.camera"];
    });
  }
  root.querySelector(".genlab-note").textContent = picture.note;
  root.dataset.revision = String(Number(root.dataset.revision || 0) + 1);
}

// Draws the newest picture only: one that arrives while a draw runs replaces any waiting one.
function schedule(root, data, picture) {
  root.__genlabNext = { data, picture };
  if (root.__genlabBusy) return;
  root.__genlabBusy = true;
  (async () => {
    while (root.__genlabNext) {
      const next = root.__genlabNext;
      root.__genlabNext = null;
      try { await draw(root, next.data, next.picture); } catch (error) {
        root.querySelector(".genlab-note").textContent = "The 3D view could not be drawn: " + error.message;
      }
    }
    root.__genlabBusy = false;
  })();
}

function sameLevels(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let n = 0; n < a.length; n++) if (a[n] !== b[n]) return false;
  return true;
}

// Draws a grid of levels unless the view already shows it with the same threshold and colours.
function showLevels(root, data, levels) {
  const settings = `${data.view.threshold_level}:${data.view.one_colour}`;
  const shown = root.__genlabShown;
  if (shown && shown.settings === settings && sameLevels(shown.levels, levels)) return;
  root.__genlabShown = { settings, levels };
  schedule(root, data, cubesPicture(data, levels));
}

// The page's sliders: label -> value. Streamlit's slider is an input of type range labelled by
// aria-label; its aria-valuetext holds the exact value (the input's own value is rounded to the
// slider's stops, which a start latent need not be on).
function sliderValue(input) {
  const text = parseFloat(input.getAttribute("aria-valuetext"));
  return Number.isFinite(text) ? text : parseFloat(input.value);
}

function sliders() {
  const found = new Map();
  for (const input of document.querySelectorAll('input[type="range"][aria-label]')) {
    found.set(input.getAttribute("aria-label"), sliderValue(input));
  }
  return found;
}

// Returns the index of the sweep's position for the sliders as they are on the page now, or -1 when
// the page has moved beyond the sweep (another slider moved, or this one further than it reaches).
function sweptIndex(sweep) {
  const now = sliders();
  if (!now.has(sweep.label)) return -1;
  const close = (a, b) => Math.abs(a - b) <= 1e-6 + 1e-4 * Math.abs(b);
  for (const [label, value] of Object.entries(sweep.others)) {
    if (now.has(label) && !close(now.get(label), value)) return -1;
  }
  // The nearest position: the value itself for a step, a preview within `snap` for a long drag.
  const value = now.get(sweep.label);
  let at = -1;
  sweep.values.forEach((v, n) => { if (at < 0 || Math.abs(v - value) < Math.abs(sweep.values[at] - value)) at = n; });
  return at >= 0 && (close(sweep.values[at], value) || Math.abs(sweep.values[at] - value) <= sweep.snap) ? at : -1;
}

// Returns the sweep's grid for the sliders as they are on the page now, or null (see sweptIndex).
function sweptLevels(root) {
  const sweep = root.__genlabSweep;
  if (!sweep || !sweep.grids) return null;
  const at = sweptIndex(sweep);
  return at >= 0 ? sweep.grids[at] : null;
}

function onSliderMoved() {
  for (const root of roots) {
    if (!root.isConnected) { roots.delete(root); continue; }
    const levels = sweptLevels(root);
    if (levels) showLevels(root, root.__genlabData, levels);
  }
}

// A slider move is drawn as soon as the slider shows it (before the key is released or the drag
// ends, when Streamlit sends the value to the server), so the figure comes first.
if (!window.__genlabSliderWatch) {
  window.__genlabSliderWatch = new MutationObserver((records) => {
    if (records.some((r) => r.target.type === "range")) onSliderMoved();
  });
  window.__genlabSliderWatch.observe(document.body, { subtree: true, attributes: true,
    attributeFilter: ["aria-valuetext", "value"] });
}

async function receive(root, data) {
  root.__genlabData = data;
  const view = data.view;
  if (view.mesh) {                      // a smooth surface, built on the server
    root.__genlabSweep = null;
    root.__genlabShown = null;
    schedule(root, data, surfacePicture(data));
    return;
  }
  const previous = root.__genlabSweep;
  const sweep = data.sweep;
  root.__genlabSweep = sweep ? { ...sweep, grids: null } : null;
  // The grid itself arrives uncompressed and is drawn at once (a new model, start or slider),
  // unless it answers an earlier step of the slider the user is still moving: then the page
  // shows a later step, which the sweep holds (below).
  const levels = bytes(view.levels);
  const sameSlider = previous && sweep && previous.label === sweep.label &&
    JSON.stringify(previous.others) === JSON.stringify(sweep.others);
  if (!sameSlider || sweptIndex(sweep) === sweep.at) showLevels(root, data, levels);
  if (!sweep) return;
  const all = await inflate(sweep.levels);
  if (root.__genlabData !== data) return;          // newer data arrived meanwhile
  root.__genlabSweep.grids = sweep.values.map((_, n) => all.subarray(n * levels.length, (n + 1) * levels.length));
  // A slider the user moved after this rerun began is already drawn (or drawable) from the sweep;
  // the server's answer for an older position must not replace it.
  showLevels(root, data, sweptLevels(root) || levels);
}

export default function (component) {
  const { parentElement } = component;
  const [data] = component.data;           // sent as a one-element list (live_view._mount)
  if (data.prepare) {
    prepareScene(data);
    return;
  }
  let root = parentElement.querySelector(".genlab-live");
  if (!root) {
    root = document.createElement("div");
    root.className = "genlab-live";
    root.innerHTML = '<button class="genlab-front" type="button">Front view</button>' +
      '<div class="genlab-plot"></div><div class="genlab-note"></div>';
    parentElement.appendChild(root);
    root.querySelector(".genlab-front").addEventListener("click", () => {
      const front = root.__genlabFront;
      cameras[root.__genlabKey] = front;
      if (window.Plotly) window.Plotly.relayout(root.querySelector(".genlab-plot"), { "scene.camera": front });
    });
  }
  roots.add(root);
  root.__genlabKey = data.camera_key;
  root.__genlabFront = data.front_camera;
  receive(root, data).catch((error) => {
    root.querySelector(".genlab-note").textContent = "The 3D view could not be drawn: " + error.message;
  });
}
