// Small charts drawn as inline SVG (no library, no CDN). Every chart is an <svg role="img">
// with a <title> and <desc> naming what it shows, and prints its values as data labels, so
// a screen reader and a test can read the numbers without decoding the geometry.
//
// Colours come from CSS classes (app.css "Charts"): the CSP forbids inline style attributes
// in markup, and classes keep the guide's status colours in one place.

const SVG = "http://www.w3.org/2000/svg";

// Like ui.js's h(), for SVG elements: attributes set with setAttribute, text as text nodes.
export function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let uid = 0;

// The accessible frame of a chart: role="img" labelled by its title and described by desc.
function frame(width, height, title, desc, name) {
  uid += 1;
  const titleId = `chart-title-${uid}`;
  const descId = `chart-desc-${uid}`;
  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
    "data-chart": name || null,
  }, s("title", { id: titleId }, title), s("desc", { id: descId }, desc));
  // Shrinks with its card but never grows past its drawn size (text would balloon).
  svg.style.maxWidth = `${width}px`;
  return svg;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const steps = [1, 2, 2.5, 5, 10];
  const step = steps.find((each) => each * power >= value);
  return step * power;
}

function formatValue(value, digits) {
  if (value === null || value === undefined) return "—";
  return digits ? Number(value).toFixed(digits) : String(value);
}

// An axis value: whole numbers as they are, fractions to one decimal.
function axisValue(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * A vertical bar chart.
 * data: [{label, value, cls?}] — cls is a CSS class for the bar (e.g. "bar-completed").
 * options: {title, desc, name, max?, digits?, height?, emptyText?}
 * Each bar is a <g data-label data-value> with a <title> "label: value" tooltip.
 */
export function barChart(data, options) {
  const { title, desc, name, digits = 0 } = options;
  const width = Math.max(320, data.length * 64 + 60);
  const height = options.height || 220;
  const left = 40;
  const bottom = 40;
  const top = 18;
  const plotHeight = height - top - bottom;
  const max = options.max || niceMax(Math.max(0, ...data.map((d) => d.value || 0)));
  const svg = frame(width, height, title, desc, name);
  // Axis and three gridlines with their values.
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotHeight * (1 - fraction);
    svg.append(s("line", { class: "grid-line", x1: left, x2: width - 8, y1: y, y2: y }));
    svg.append(s("text", { class: "axis", x: left - 6, y: y + 4, "text-anchor": "end" },
      axisValue(max * fraction)));
  }
  const slot = (width - left - 8) / Math.max(1, data.length);
  const barWidth = Math.min(44, slot * 0.7);
  data.forEach((datum, index) => {
    const value = datum.value || 0;
    const barHeight = max ? (plotHeight * Math.min(value, max)) / max : 0;
    const x = left + slot * index + (slot - barWidth) / 2;
    const y = top + plotHeight - barHeight;
    const label = `${datum.label}: ${formatValue(datum.value, digits)}`;
    svg.append(s("g", { class: "bar", "data-label": datum.label, "data-value": datum.value ?? "" },
      s("title", {}, label),
      s("rect", { class: `bar-fill ${datum.cls || ""}`.trim(), x, y, width: barWidth,
        height: Math.max(barHeight, value ? 1 : 0), rx: 3 }),
      s("text", { class: "value", x: x + barWidth / 2, y: y - 4, "text-anchor": "middle" },
        formatValue(datum.value, digits)),
      s("text", { class: "axis", x: x + barWidth / 2, y: height - bottom + 16,
        "text-anchor": "middle" }, datum.label)));
  });
  return svg;
}

/**
 * A horizontal bar chart, for labelled rows such as agents (names can be long).
 * data: [{label, value, cls?}]; options: {title, desc, name, max?, digits?}
 */
export function hbarChart(data, options) {
  const { title, desc, name, digits = 0 } = options;
  const row = 28;
  const labelWidth = 170;
  const width = 640;
  const height = Math.max(1, data.length) * row + 12;
  const max = options.max || niceMax(Math.max(0, ...data.map((d) => d.value || 0)));
  const plot = width - labelWidth - 60;
  const svg = frame(width, height, title, desc, name);
  data.forEach((datum, index) => {
    const y = 6 + index * row;
    const value = datum.value || 0;
    const barWidth = max ? (plot * Math.min(value, max)) / max : 0;
    const text = `${datum.label}: ${formatValue(datum.value, digits)}`;
    svg.append(s("g", { class: "bar", "data-label": datum.label, "data-value": datum.value ?? "" },
      s("title", {}, text),
      s("text", { class: "axis", x: labelWidth - 8, y: y + row / 2 + 2, "text-anchor": "end" },
        truncate(datum.label, 24)),
      s("rect", { class: `bar-fill ${datum.cls || ""}`.trim(), x: labelWidth, y: y + 4,
        width: Math.max(barWidth, value ? 1 : 0), height: row - 10, rx: 3 }),
      s("text", { class: "value", x: labelWidth + barWidth + 6, y: y + row / 2 + 2 },
        formatValue(datum.value, digits))));
  });
  return svg;
}

/**
 * A line chart over ordered points; a null value leaves a gap (no calls that day).
 * points: [{label, value}]; options: {title, desc, name, min?, max?, digits?}
 */
export function lineChart(points, options) {
  const { title, desc, name, digits = 1 } = options;
  const width = Math.max(560, points.length * 40 + 70);
  const height = 240;
  const left = 44;
  const right = 36;
  const top = 18;
  const bottom = 46;
  const min = options.min ?? 0;
  const max = options.max ?? niceMax(Math.max(0, ...points.map((p) => p.value || 0)));
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const svg = frame(width, height, title, desc, name);
  const xOf = (index) => left + (points.length > 1 ? (plotWidth * index) / (points.length - 1)
    : plotWidth / 2);
  const yOf = (value) => top + plotHeight * (1 - (value - min) / (max - min || 1));
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const value = min + (max - min) * fraction;
    svg.append(s("line", { class: "grid-line", x1: left, x2: width - right, y1: yOf(value),
      y2: yOf(value) }));
    svg.append(s("text", { class: "axis", x: left - 6, y: yOf(value) + 4, "text-anchor": "end" },
      axisValue(value)));
  }
  // Segments of consecutive points that have a value.
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      svg.append(s("polyline", { class: "line", fill: "none",
        points: run.map(([x, y]) => `${x},${y}`).join(" ") }));
    }
    run = [];
  };
  points.forEach((point, index) => {
    if (point.value === null || point.value === undefined) flush();
    else run.push([xOf(index), yOf(point.value)]);
  });
  flush();
  // Label roughly ten x positions so dates do not overlap, counted back from the newest
  // point so that it always has its label.
  const labelEvery = Math.max(1, Math.ceil(points.length / 10));
  const last = points.length - 1;
  points.forEach((point, index) => {
    const x = xOf(index);
    const group = s("g", { class: "point", "data-label": point.label,
      "data-value": point.value ?? "" },
      s("title", {}, `${point.label}: ${formatValue(point.value, digits)}`));
    if (point.value !== null && point.value !== undefined) {
      const y = yOf(point.value);
      group.append(s("circle", { class: "dot", cx: x, cy: y, r: 3.5 }),
        s("text", { class: "value", x, y: y - 8, "text-anchor": "middle" },
          formatValue(point.value, digits)));
    }
    if ((last - index) % labelEvery === 0) {
      group.append(s("text", { class: "axis", x, y: height - bottom + 16,
        "text-anchor": "middle" }, point.label));
    }
    svg.append(group);
  });
  return svg;
}

function truncate(text, length) {
  const value = String(text || "");
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}
