/**
 * Hand-written SVG line charts for bench/scale.ts: one panel per measure, a polyline per series
 * over a logarithmic x axis (partitions and groups grow by factors, not steps), with axes, ticks,
 * labels and a legend. No dependency: the curves are few and small.
 */

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const PANEL_WIDTH = 420;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 70, right: 20, top: 34, bottom: 46 };
const COLUMNS = 2;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A short tick label: 1,000 → "1k", 0.25 → "0.25". */
function tickLabel(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  return `${+value.toPrecision(3)}`;
}

/** Up to five round ticks from 0 to at least `max`. */
function linearTicks(max: number): number[] {
  const top = max > 0 ? max : 1;
  const rough = top / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let value = 0; value < top + step; value += step) ticks.push(value);
  return ticks;
}

function panelSvg(panel: Panel, originX: number, originY: number): string {
  const xs = panel.series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
  const ys = panel.series.flatMap((s) => s.points.map((p) => p.y));
  if (xs.length === 0) return "";
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yTicks = linearTicks(Math.max(...ys));
  const yTop = yTicks.at(-1)!;
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const logSpan = Math.log10(xMax) - Math.log10(xMin) || 1;
  const xAt = (x: number) => MARGIN.left + ((Math.log10(x) - Math.log10(xMin)) / logSpan) * plotWidth * (xMax === xMin ? 0.5 : 1);
  const yAt = (y: number) => MARGIN.top + plotHeight - (y / yTop) * plotHeight;
  const parts: string[] = [`<g transform="translate(${originX},${originY})">`];
  parts.push(`<text x="${PANEL_WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`);
  // Axes.
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`);
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + plotHeight}" x2="${MARGIN.left + plotWidth}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`);
  for (const tick of yTicks) {
    const y = yAt(tick).toFixed(1);
    parts.push(`<line x1="${MARGIN.left - 4}" y1="${y}" x2="${MARGIN.left + plotWidth}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 7}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(tick)}</text>`);
  }
  for (const tick of [...new Set(xs)].sort((a, b) => a - b)) {
    const x = xAt(tick).toFixed(1);
    parts.push(`<line x1="${x}" y1="${MARGIN.top + plotHeight}" x2="${x}" y2="${MARGIN.top + plotHeight + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${tickLabel(tick)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${PANEL_HEIGHT - 8}" text-anchor="middle">${escapeXml(panel.xLabel)} (log scale)</text>`);
  parts.push(
    `<text transform="translate(16,${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
  );
  panel.series.forEach((series, index) => {
    const color = COLORS[index % COLORS.length]!;
    const points = series.points.filter((p) => p.x > 0).sort((a, b) => a.x - b.x);
    const coordinates = points.map((p) => `${xAt(p.x).toFixed(1)},${yAt(p.y).toFixed(1)}`);
    parts.push(`<polyline points="${coordinates.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const c of coordinates) {
      const [cx, cy] = c.split(",");
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
    const legendY = MARGIN.top + 6 + index * 15;
    parts.push(`<line x1="${MARGIN.left + 10}" y1="${legendY}" x2="${MARGIN.left + 28}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${MARGIN.left + 32}" y="${legendY}" dominant-baseline="middle">${escapeXml(series.name)}</text>`);
  });
  parts.push("</g>");
  return parts.join("\n");
}

/** The panels in a grid of two columns, as one standalone SVG document. */
export function chartSvg(title: string, panels: Panel[]): string {
  const shown = panels.filter((p) => p.series.some((s) => s.points.length > 0));
  const rows = Math.ceil(shown.length / COLUMNS);
  const width = PANEL_WIDTH * COLUMNS;
  const height = 30 + rows * PANEL_HEIGHT;
  const body = shown.map((panel, index) => panelSvg(panel, (index % COLUMNS) * PANEL_WIDTH, 30 + Math.floor(index / COLUMNS) * PANEL_HEIGHT));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}
