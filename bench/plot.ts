/**
 * Small line/scatter charts drawn as SVG and rasterised to PNG by sharp (librsvg): no plotting
 * dependency. Log or linear axes, a legend, optional horizontal reference lines.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

export interface Point {
  x: number;
  y: number;
  /** Written next to the marker. */
  note?: string;
}

export interface Series {
  label: string;
  color: string;
  points: Point[];
  /** Join the points (sorted by x) with a line. */
  line?: boolean;
  marker?: 'circle' | 'square' | 'triangle' | 'diamond';
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  series: Series[];
  /** Horizontal reference lines (e.g. the A^+ y floor). */
  hlines?: { y: number; label: string; color: string }[];
  /** Bottom line of small print: the command and the machine. */
  footer?: string;
}

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  if (a >= 100) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
}

function axis(values: number[], log: boolean): Axis {
  let vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!vs.length) vs = log ? [1, 10] : [0, 1];
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (log) {
    // Half-decade bounds with at least a tenth of a decade of room around the data.
    let l = Math.floor((Math.log10(lo) - 0.1) * 2) / 2;
    let h = Math.ceil((Math.log10(hi) + 0.1) * 2) / 2;
    if (h - l < 1) {
      l -= 0.5;
      h += 0.5;
    }
    const ticks: number[] = [];
    const decades = h - l;
    for (let e = Math.floor(l); e <= Math.ceil(h); e++)
      for (const m of decades > 4 ? [1] : decades > 2 ? [1, 3] : [1, 2, 5]) {
        const t = m * 10 ** e;
        if (Math.log10(t) >= l - 1e-9 && Math.log10(t) <= h + 1e-9) ticks.push(t);
      }
    return { lo: 10 ** l, hi: 10 ** h, log, ticks };
  }
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const pad = 0.06 * (hi - lo);
  lo -= pad;
  hi += pad;
  const step = niceStep(hi - lo, 6);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step * 1e-6; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo, hi, log, ticks };
}

function marker(kind: Series['marker'], x: number, y: number, color: string): string {
  const r = 5;
  switch (kind) {
    case 'square':
      return `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'triangle':
      return `<path d="M${x},${y - r - 1} L${x + r + 1},${y + r} L${x - r - 1},${y + r} Z" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${x},${y - r - 1} L${x + r + 1},${y} L${x},${y + r + 1} L${x - r - 1},${y} Z" fill="${color}"/>`;
    default:
      return `<circle cx="${x}" cy="${y}" r="${r}" fill="${color}"/>`;
  }
}

/** The chart as an SVG group of the given size, at the origin. */
export function chartSvg(c: Chart, width: number, height: number): string {
  const left = 72;
  const right = 270;
  const top = 44;
  const bottom = c.footer ? 78 : 58;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const xs = c.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = [...c.series.flatMap((s) => s.points.map((p) => p.y)), ...(c.hlines ?? []).map((h) => h.y)];
  const ax = axis(xs, !!c.xLog);
  const ay = axis(ys, !!c.yLog);
  const tx = (v: number): number => left + pw * (ax.log ? Math.log10(v / ax.lo) / Math.log10(ax.hi / ax.lo) : (v - ax.lo) / (ax.hi - ax.lo));
  const ty = (v: number): number => top + ph - ph * (ay.log ? Math.log10(v / ay.lo) / Math.log10(ay.hi / ay.lo) : (v - ay.lo) / (ay.hi - ay.lo));
  const o: string[] = [];
  o.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  o.push(`<text x="${left}" y="26" font-size="15" font-weight="bold">${esc(c.title)}</text>`);
  for (const t of ax.ticks) {
    const x = tx(t);
    o.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" stroke="#e4e4e4"/>`);
    o.push(`<text x="${x}" y="${top + ph + 18}" font-size="12" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of ay.ticks) {
    const y = ty(t);
    o.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e4e4e4"/>`);
    o.push(`<text x="${left - 8}" y="${y + 4}" font-size="12" text-anchor="end">${fmt(t)}</text>`);
  }
  o.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  o.push(`<text x="${left + pw / 2}" y="${top + ph + 40}" font-size="13" text-anchor="middle">${esc(c.xLabel)}</text>`);
  o.push(`<text transform="translate(18 ${top + ph / 2}) rotate(-90)" font-size="13" text-anchor="middle">${esc(c.yLabel)}</text>`);
  for (const h of c.hlines ?? []) {
    if (!Number.isFinite(h.y)) continue;
    const y = ty(h.y);
    o.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="${h.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    o.push(`<text x="${left + 6}" y="${y - 5}" font-size="11" fill="${h.color}">${esc(h.label)}</text>`);
  }
  let ly = top + 8;
  for (const [si, s] of c.series.entries()) {
    // Notes of alternate series above and below their markers, so that neighbours do not collide.
    const noteDy = si % 2 ? 17 : -7;
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!ax.log || p.x > 0) && (!ay.log || p.y > 0));
    if (s.line && pts.length > 1) {
      const sorted = [...pts].sort((a, b) => a.x - b.x);
      o.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${sorted.map((p) => `${tx(p.x).toFixed(1)},${ty(p.y).toFixed(1)}`).join(' ')}"/>`);
    }
    // Points of a series that land within a few pixels of each other (presets with the same result) share one note.
    const notes: { x: number; y: number; text: string[] }[] = [];
    for (const p of pts) {
      o.push(marker(s.marker, tx(p.x), ty(p.y), s.color));
      if (!p.note) continue;
      const near = notes.find((n) => Math.abs(n.x - tx(p.x)) < 8 && Math.abs(n.y - ty(p.y)) < 8);
      if (near) near.text.push(p.note);
      else notes.push({ x: tx(p.x), y: ty(p.y), text: [p.note] });
    }
    for (const n of notes) o.push(`<text x="${n.x + 8}" y="${n.y + noteDy}" font-size="10" fill="${s.color}">${esc(n.text.join(', '))}</text>`);
    o.push(marker(s.marker, left + pw + 22, ly, s.color));
    o.push(`<text x="${left + pw + 34}" y="${ly + 4}" font-size="11.5">${esc(s.label)}</text>`);
    ly += 20;
  }
  if (c.footer) o.push(`<text x="${left}" y="${height - 12}" font-size="10" fill="#555">${esc(c.footer)}</text>`);
  return `<g font-family="DejaVu Sans, sans-serif">${o.join('')}</g>`;
}

/** Charts side by side in one PNG. */
export async function writeCharts(path: string, charts: Chart[], width = 860, height = 520, footer?: string): Promise<void> {
  const parts = charts.map((c, i) => `<g transform="translate(${i * width} 0)">${chartSvg(c, width, height)}</g>`);
  const W = width * charts.length;
  const H = height + (footer ? 24 : 0);
  const foot = footer
    ? `<rect x="0" y="${height}" width="${W}" height="24" fill="white"/><text x="72" y="${height + 14}" font-size="10" fill="#555" font-family="DejaVu Sans, sans-serif">${esc(footer)}</text>`
    : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}${foot}</svg>`;
  mkdirSync(dirname(path), { recursive: true });
  await sharp(Buffer.from(svg), { density: 96 }).png({ compressionLevel: 9 }).toFile(path);
}
