// Lunatlas viewer: south-polar map (IAU_2015:30135) with tiles, layers, query and diffs.
"use strict";

const VIEW = new URLSearchParams(window.location.search).get("view") === "global"
  ? "global" : "south-polar";
const state = { edition: null, overlays: {} };
const fmt = (v, d = 3) => (v === null || v === undefined ? "—" : Number(v).toFixed(d));
// Contributed text (sample ids, names, reasons) is escaped before it reaches innerHTML.
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function main() {
  const tms = await getJSON(`/api/tms?view=${VIEW}`);
  const crs = new L.Proj.CRS(tms.crs, tms.proj4, {
    origin: tms.origin, resolutions: tms.resolutions, bounds: L.bounds(tms.bounds),
  });
  crs.R = 1737400; // the Moon, so the scale bar is right
  crs.distance = L.CRS.Earth.distance;
  const map = L.map("map", { crs, center: tms.center, zoom: tms.zoom,
    maxZoom: tms.resolutions.length - 1, minZoom: 0 });
  fitToData(map, crs, tms);
  graticule(VIEW).addTo(map);
  document.getElementById("view").innerHTML = VIEW === "global"
    ? 'Global view · <a href="/?view=south-polar">south polar view</a>'
    : 'South polar view · <a href="/?view=global">global view</a>';
  const tile = (name) => L.tileLayer(`/api/tiles/${name}/{z}/{x}/{y}.png`,
    { tileSize: 256, noWrap: true, attribution: "LOLA via Lunatlas" });
  const bases = {};
  const overlays = {};
  for (const name of ["hillshade", "hillshade-global"]) {
    if (tms.rasters.includes(name)) bases[name] = tile(name).addTo(map);
  }
  for (const name of ["geology", "geology-global"]) {
    if (tms.rasters.includes(name)) overlays["geologic units"] = tile(name).setOpacity(0.7)
      .addTo(map);
  }
  for (const name of ["suitability", "illumination"]) {
    if (tms.rasters.includes(name)) overlays[name] = tile(name).setOpacity(0.6);
  }
  const styles = {
    craters: { color: "#8ecae6", radius: 3 }, samples: { color: "#ff5d8f", radius: 6 },
    sites: { color: "#ffd700", radius: 8 }, traverses: { color: "#00e5ff", weight: 3 },
  };
  for (const name of Object.keys(styles)) {
    overlays[name] = L.geoJSON(null, {
      style: styles[name],
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { ...styles[name], weight: 1,
        fillOpacity: 0.8 }),
      onEachFeature: (f, layer) => (name === "sites"
        ? layer.bindTooltip(esc(f.properties.name), { permanent: true, direction: "right",
          className: "site-label" })
        : layer.bindTooltip(`${name}: ${esc(f.properties.name || f.properties.mission ||
          f.id)}`)),
    });
    if (name !== "craters") overlays[name].addTo(map);
  }
  state.overlays = overlays;
  L.control.layers(bases, overlays, { collapsed: false }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    div.innerHTML = Object.entries(styles).map(([k, s]) =>
      `<i style="background:${s.color}"></i>${k}`).join("<br>") +
      "<br><i style='background:linear-gradient(90deg,#440154,#21918c,#fde725)'></i>" +
      "suitability 0→1<div id='unit-legend'></div>";
    return div;
  };
  legend.addTo(map);
  if (overlays["geologic units"]) await unitLegend();
  map.on("mousemove", (e) => {
    document.getElementById("coords").textContent =
      `lat ${e.latlng.lat.toFixed(3)}°, lon ${e.latlng.lng.toFixed(3)}°E`;
  });
  map.on("click", async (e) => {
    const q = await getJSON(`/api/query?lat=${e.latlng.lat.toFixed(5)}` +
      `&lon=${e.latlng.lng.toFixed(5)}&edition=${state.edition}`);
    const lines = [`<b>${fmt(q.lat)}°, ${fmt(q.lon)}°E</b> (edition ${q.edition})`];
    if (q.unit) {
      const u = q.unit;
      lines.push(`<b>${esc(u.symbol)}</b> ${esc(u.name)}`);
      lines.push(`${esc(u.epoch)} (${fmt(u.epoch_young_ga, 2)}–${fmt(u.epoch_old_ga, 2)} Ga)`);
      if (u.model_age_ga !== null) lines.push(`crater model age ${fmt(u.model_age_ga, 2)} ` +
        `(−${fmt(u.model_age_minus_ga, 2)}/+${fmt(u.model_age_plus_ga, 2)}) Ga`);
      for (const s of u.sample_ages) lines.push(`sample ${esc(s.mission)} ${esc(s.sample_id)}: ` +
        `${fmt(s.age_ga, 3)} Ga${s.conflict ? " ⚠ outside the mapped epoch" : ""}`);
      lines.push(`<i>${esc(u.description)}</i>`);
      if (u.ambiguity) lines.push(`ambiguous: ${esc(u.ambiguity)}`);
      lines.push(`<small>source: ${esc(u.source)}</small>`);
    } else lines.push("no geologic unit here");
    if (q.count_area) lines.push(`count area ${esc(q.count_area.unit_code)}: ` +
      `${fmt(q.count_area.model_age_ga, 2)} Ga`);
    if (q.nearest_site) lines.push(`nearest site ${esc(q.nearest_site.name)}: score ` +
      `${fmt(q.nearest_site.score)}, ${fmt(q.nearest_site.distance_km, 1)} km away`);
    if (q.nearest_samples) lines.push(`nearest sample: ${esc(q.nearest_samples[0].mission)} ` +
      `${esc(q.nearest_samples[0].sample_id)}, ${fmt(q.nearest_samples[0].distance_km, 0)} km`);
    const html = lines.join("<br>");
    L.popup().setLatLng(e.latlng).setContent(html).openOn(map);
    document.getElementById("query").innerHTML = html;
  });
  await loadEditions();
}

// Poleward of this latitude the global (equirectangular) view omits features: they would
// be clipped markers and smeared lines at its edge; the polar view shows them.
const GLOBAL_POLAR_CUTOFF = 80;

async function loadLayers() {
  let hidden = 0;
  for (const name of ["craters", "samples", "sites", "traverses"]) {
    const box = VIEW === "global" ? "" : "&bbox=-180,-90,180,-70";
    const data = await getJSON(`/api/layers/${name}?edition=${state.edition}${box}` +
      "&limit=5000");
    if (VIEW === "global") {
      const keep = data.features.filter((f) => !nearPole(f.geometry));
      hidden += data.features.length - keep.length;
      data.features = keep;
    }
    state.overlays[name].clearLayers().addData(data);
  }
  document.getElementById("polar-note").textContent = hidden
    ? `${hidden} features poleward of ${GLOBAL_POLAR_CUTOFF}° (sites, traverses…) are ` +
      "shown in the south polar view only." : "";
  const sites = await getJSON(`/api/sites?edition=${state.edition}`);
  document.querySelector("#sites tbody").innerHTML = sites.map((s) =>
    `<tr><td>${s.rank}</td><td>${esc(s.name)}</td><td>${fmt(s.scores.lat ?? s.geometry.coordinates[1])}</td>` +
    `<td>${fmt(s.geometry.coordinates[0])}</td><td>${fmt(s.score)}</td>` +
    `<td>${fmt(s.scores.in_top3_fraction, 2)}</td></tr>`).join("");
}

function nearPole(geometry) {
  const coords = JSON.stringify(geometry.coordinates).match(/-?\d+(\.\d+)?/g) || [];
  for (let i = 1; i < coords.length; i += 2) {
    if (Math.abs(Number(coords[i])) > GLOBAL_POLAR_CUTOFF) return true;
  }
  return false;
}

// Open on the data: the zoom at which the first raster's extent fills the map.
function fitToData(map, crs, tms) {
  if (!tms.data_extent) return;
  const [left, bottom, right, top] = tms.data_extent;
  const size = map.getSize();
  let zoom = 0;
  tms.resolutions.forEach((res, z) => {
    if ((right - left) / res <= size.x * 1.05 && (top - bottom) / res <= size.y * 1.05) zoom = z;
  });
  map.setView(crs.unproject(L.point((left + right) / 2, (bottom + top) / 2)), zoom);
}

// Parallels and meridians with labels (88°S, 30°W); denser near the pole in the polar view.
function graticule(view) {
  const group = L.layerGroup();
  const latLabel = (v) => (v === 0 ? "0°" : `${Math.abs(v)}°${v < 0 ? "S" : "N"}`);
  const lonLabel = (v) => (v === 0 || Math.abs(v) === 180 ? `${Math.abs(v)}°`
    : `${Math.abs(v)}°${v < 0 ? "W" : "E"}`);
  const style = { color: "#ffffff", weight: 0.7, opacity: 0.6, interactive: false };
  const parallels = view === "global" ? [-60, -30, 0, 30, 60] : [-89, -88, -86, -84, -80, -75];
  const south = view === "global" ? -90 : -89.9;
  const north = view === "global" ? 90 : -70;
  for (const lat of parallels) {
    const line = [];
    for (let lon = -180; lon <= 180; lon += 2) line.push([lat, lon]);
    group.addLayer(L.polyline(line, style).bindTooltip(latLabel(lat), {
      permanent: true, direction: "center", className: "grid-label", offset: [0, 0] }));
  }
  for (let lon = -180; lon < 180; lon += 30) {
    const line = [];
    for (let lat = south; lat <= north; lat += 0.1) line.push([lat, lon]);
    group.addLayer(L.polyline(line, style));
    const at = view === "global" ? [0, lon] : [-85.2, lon];
    group.addLayer(L.marker(at, { interactive: false, icon: L.divIcon({
      className: "grid-label", html: lonLabel(lon), iconSize: null }) }));
  }
  return group;
}

async function unitLegend() {
  const units = await getJSON(`/api/units/legend?view=${VIEW}`);
  document.getElementById("unit-legend").innerHTML = "<b>geologic units</b><br>" +
    units.map((u) => `<i style="background:${u.colour}"></i>${esc(u.symbol)} ` +
      `${esc(u.name)}`).join("<br>");
}

async function loadEditions() {
  const editions = await getJSON("/api/editions");
  const options = editions.map((e) => `<option value="${e.edition}">${e.edition}: ` +
    `${esc(e.reason.slice(0, 40))}</option>`).join("");
  for (const id of ["edition", "edition-b"]) document.getElementById(id).innerHTML = options;
  const latest = editions[editions.length - 1].edition;
  document.getElementById("edition").value = latest;
  document.getElementById("edition-b").value = Math.max(1, latest - 1);
  state.edition = latest;
  document.getElementById("edition").onchange = async (e) => {
    state.edition = Number(e.target.value);
    await loadLayers();
  };
  document.getElementById("show-diff").onclick = async () => {
    const a = document.getElementById("edition-b").value;
    const diff = await getJSON(`/api/diff?a=${a}&b=${state.edition}`);
    document.getElementById("diff").textContent = diff.filter((d) =>
      d.added.length || d.removed.length || d.changed.length).map((d) =>
      `[${d.layer}] +${d.added.length} -${d.removed.length} ~${d.changed.length}\n` +
      d.changed.slice(0, 20).map((c) => `  ~ ${c.record_id}: ` + c.fields.map((f) =>
        `${f.field} ${f.old} → ${f.new}`).join("; ")).join("\n")).join("\n") ||
      "no differences";
  };
  await loadLayers();
  document.body.dataset.ready = "1";
}

main().catch((err) => { document.getElementById("query").textContent = String(err); });
