/* A small canvas line chart: time on x, one or two value axes, horizontal lines and markers.
   Plotting only: values arrive as the API's decimal strings and become Numbers here to find a
   pixel; nothing drawn here is shown as money text except the axis ticks. */
"use strict";

const GridChart = (() => {
  const PAD = { left: 64, right: 64, top: 10, bottom: 24 };  /* right: room for a second axis */

  function extent(values, lo, hi) {
    let min = lo, max = hi;
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      if (min === undefined || v < min) min = v;
      if (max === undefined || v > max) max = v;
    }
    if (min === undefined) return [0, 1];
    if (min === max) { const d = Math.abs(min) * 0.001 || 1; return [min - d, max + d]; }
    const d = (max - min) * 0.06;
    return [min - d, max + d];
  }

  function ticks(min, max, count) {
    const raw = (max - min) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(min / step) * step; v <= max; v += step) out.push(v);
    return { values: out, digits: Math.max(0, -Math.floor(Math.log10(step))) };
  }

  function timeText(ms) {
    return new Date(ms).toISOString().slice(11, 19);
  }

  /* spec: {series: [{points: [[ms, n]], color, axis: "left"|"right", step}],
            hlines: [{value, color, dash, width}], markers: [{t, v, up, color}],
            yRange: [min, max] (optional, left axis), empty: "text when nothing to draw"} */
  function draw(canvas, spec) {
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const height = Number(canvas.getAttribute("height")) || 240;
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "11px system-ui, sans-serif";
    const series = spec.series.filter((s) => s.points.length);
    const markers = spec.markers || [];
    const times = [];
    for (const s of series) for (const p of s.points) times.push(p[0]);
    for (const m of markers) times.push(m.t);
    if (!times.length) {
      g.fillStyle = "#5b6470";
      g.fillText(spec.empty || "no data yet", PAD.left, height / 2);
      return;
    }
    let [t0, t1] = [Math.min(...times), Math.max(...times)];
    if (t1 - t0 < 60000) { t0 = t1 - 60000; }
    t1 += (t1 - t0) * 0.02;
    const left = series.filter((s) => s.axis !== "right");
    const right = series.filter((s) => s.axis === "right");
    const lv = [];
    for (const s of left) for (const p of s.points) lv.push(p[1]);
    for (const m of markers) lv.push(m.v);
    const [y0, y1] = spec.yRange || extent(lv);
    const rv = [];
    for (const s of right) for (const p of s.points) rv.push(p[1]);
    const [r0, r1] = extent(rv);
    const padRight = right.length ? PAD.right : 16;
    const w = width - PAD.left - padRight;
    const h = height - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * w;
    const yl = (v) => PAD.top + (1 - (v - y0) / (y1 - y0)) * h;
    const yr = (v) => PAD.top + (1 - (v - r0) / (r1 - r0)) * h;

    g.strokeStyle = "#d8dde3";
    g.fillStyle = "#5b6470";
    g.lineWidth = 1;
    const lt = ticks(y0, y1, 6);
    g.textAlign = "right";
    for (const v of lt.values) {
      const py = Math.round(yl(v)) + 0.5;
      g.beginPath(); g.moveTo(PAD.left, py); g.lineTo(PAD.left + w, py); g.stroke();
      g.fillText(v.toFixed(lt.digits), PAD.left - 4, py + 4);
    }
    if (right.length) {
      const rt = ticks(r0, r1, 6);
      g.textAlign = "left";
      for (const v of rt.values) g.fillText(v.toFixed(rt.digits), PAD.left + w + 4, yr(v) + 4);
    }
    g.textAlign = "center";
    const tt = w < 420 ? 2 : 4;
    for (let i = 0; i <= tt; i++) {
      const t = t0 + ((t1 - t0) * i) / tt;
      g.fillText(timeText(t), Math.min(Math.max(x(t), PAD.left + 24), PAD.left + w - 24), height - 6);
    }

    g.save();
    g.beginPath(); g.rect(PAD.left, PAD.top, w, h); g.clip();
    for (const line of spec.hlines || []) {
      if (line.value < y0 || line.value > y1) continue;
      const py = Math.round(yl(line.value)) + 0.5;
      g.strokeStyle = line.color; g.lineWidth = line.width || 1; g.setLineDash(line.dash || []);
      g.beginPath(); g.moveTo(PAD.left, py); g.lineTo(PAD.left + w, py); g.stroke();
    }
    g.setLineDash([]);
    for (const s of series) {
      const y = s.axis === "right" ? yr : yl;
      g.strokeStyle = s.color; g.lineWidth = s.width || 1.5;
      g.beginPath();
      s.points.forEach((p, i) => {
        const px = x(p[0]), py = y(p[1]);
        if (i === 0) g.moveTo(px, py);
        else if (s.step) { g.lineTo(px, y(s.points[i - 1][1])); g.lineTo(px, py); }
        else g.lineTo(px, py);
      });
      if (s.step || s.points.length === 1) g.lineTo(PAD.left + w, y(s.points[s.points.length - 1][1]));
      g.stroke();
    }
    for (const m of markers) {
      const px = x(m.t), py = yl(m.v), d = 6;
      g.fillStyle = m.color;
      g.beginPath();
      if (m.up) { g.moveTo(px, py - d); g.lineTo(px - d, py + d); g.lineTo(px + d, py + d); }
      else { g.moveTo(px, py + d); g.lineTo(px - d, py - d); g.lineTo(px + d, py - d); }
      g.closePath(); g.fill();
    }
    g.restore();
  }

  return { draw };
})();
