// genlab's live 3D voxel view (genlab/viz/live.py): one Plotly div per element, updated in place.
const cameras = (window.__genlabCameras = window.__genlabCameras || {});

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

function typed(base64, Type) {
  const text = atob(base64 || "");
  const bytes = new Uint8Array(text.length);
  for (let n = 0; n < text.length; n++) bytes[n] = text.charCodeAt(n);
  return new Type(bytes.buffer);
}

function trace(data) {
  const mesh = data.mesh;
  const xyz = typed(mesh.vertices, Float32Array);
  const count = xyz.length / 3;
  const x = new Float32Array(count), y = new Float32Array(count), z = new Float32Array(count);
  for (let n = 0; n < count; n++) { x[n] = xyz[3 * n]; y[n] = xyz[3 * n + 1]; z[n] = xyz[3 * n + 2]; }
  const corners = typed(mesh.triangles, mesh.index_type === "uint32" ? Uint32Array : Uint16Array);
  const i = new Int32Array(mesh.count), j = new Int32Array(mesh.count), k = new Int32Array(mesh.count);
  for (let n = 0; n < mesh.count; n++) { i[n] = corners[3 * n]; j[n] = corners[3 * n + 1]; k[n] = corners[3 * n + 2]; }
  const t = { ...data.trace, type: "mesh3d", x, y, z, i, j, k };
  if (mesh.values) {
    const raw = typed(mesh.values, Uint8Array);
    const intensity = new Float32Array(raw.length);
    for (let n = 0; n < raw.length; n++) intensity[n] = raw[n] / 255;
    Object.assign(t, { intensity, intensitymode: mesh.intensity_mode, showscale: true });
    delete t.color;
  } else {
    for (const name of ["colorscale", "cmin", "cmax", "colorbar"]) delete t[name];
    Object.assign(t, { showscale: false });
  }
  return t;
}

async function draw(root, data) {
  const Plotly = await loadPlotly(data.plotly_url);
  const plot = root.querySelector(".genlab-plot");
  const key = data.camera_key;
  const layout = JSON.parse(JSON.stringify(data.layout));
  layout.scene.camera = cameras[key] || layout.scene.camera;
  // Plotly.react keeps a mesh's old colouring when it switches between per-value colours and
  // one colour, so a change of colour mode starts the plot afresh (the camera is kept above).
  const mode = data.mesh.values ? data.mesh.intensity_mode : "one colour";
  if (plot.__genlabMode !== undefined && plot.__genlabMode !== mode) {
    Plotly.purge(plot);
    plot.__genlabListening = false;
  }
  plot.__genlabMode = mode;
  await Plotly.react(plot, [trace(data)], layout, { displaylogo: false, responsive: true });
  if (!plot.__genlabListening) {
    plot.__genlabListening = true;
    plot.on("plotly_relayout", (event) => {
      if (event && event["scene.camera"]) cameras[root.__genlabKey] = event["scene.camera"];
    });
  }
  root.querySelector(".genlab-note").textContent = data.mesh.note || "";
  root.dataset.revision = String(Number(root.dataset.revision || 0) + 1);
}

export default function (component) {
  const { data, parentElement } = component;
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
  root.__genlabKey = data.camera_key;
  root.__genlabFront = data.front_camera;
  // Draw the newest data only: a move that arrives while a draw runs replaces any waiting one.
  root.__genlabNext = data;
  if (!root.__genlabBusy) {
    root.__genlabBusy = true;
    (async () => {
      while (root.__genlabNext) {
        const next = root.__genlabNext;
        root.__genlabNext = null;
        try { await draw(root, next); } catch (error) {
          root.querySelector(".genlab-note").textContent = "The 3D view could not be drawn: " + error.message;
        }
      }
      root.__genlabBusy = false;
    })();
  }
}
