import { encodePng } from './png.js';

// A minimal plotting helper for the evaluation's PNG figures: an RGBA canvas with lines, points and
// text in a 5x7 bitmap font (capitals, digits and common punctuation; lower case is drawn as capitals),
// and one chart function (axes with "nice" ticks, line and point series, a legend).

const { floor, round, abs, max, min, log10, pow, ceil } = Math;

export type Rgb = [number, number, number];

/** Ten distinguishable colours (the Tableau 10 palette). */
export const PALETTE: Rgb[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

const GLYPHS: Record<string, string> = {
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.', '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####', '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.', '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.', '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.', '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#', B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.', D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####', F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####', H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.', J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#', L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#', N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.', P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#', R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.', T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.', V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.', X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..', Z: '##### ....# ...#. ..#.. .#... #.... #####',
  ' ': '..... ..... ..... ..... ..... ..... .....', '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...', ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '-': '..... ..... ..... ##### ..... ..... .....', _: '..... ..... ..... ..... ..... ..... #####',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....', '=': '..... ..... ##### ..... ##### ..... .....',
  '/': '..... ....# ...#. ..#.. .#... #.... .....', '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...', '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.', '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.', '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.', '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....', '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..', '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
};

const FONT = new Map(Object.entries(GLYPHS).map(([c, rows]) => [c, rows.split(' ').map((r) => [...r].map((x) => x === '#'))]));
const CHAR_W = 6;
const CHAR_H = 8;

export class Canvas {
  readonly rgba: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.rgba.set([...background, 255], i * 4);
  }

  /** Blends a colour into a pixel (alpha 0..1); outside the canvas is ignored. */
  pixel(x: number, y: number, c: Rgb, alpha = 1): void {
    x = round(x);
    y = round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4;
    for (let k = 0; k < 3; k++) this.rgba[o + k] = round(this.rgba[o + k] * (1 - alpha) + c[k] * alpha);
  }

  rect(x0: number, y0: number, w: number, h: number, c: Rgb, alpha = 1): void {
    for (let y = round(y0); y < round(y0 + h); y++) for (let x = round(x0); x < round(x0 + w); x++) this.pixel(x, y, c, alpha);
  }

  /** A line `width` pixels thick, stepped at sub-pixel spacing; `dash` > 0 draws dashes of that length. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, width = 1, dash = 0): void {
    const length = Math.hypot(x1 - x0, y1 - y0);
    const steps = max(1, ceil(length * 2));
    const r = (width - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      if (dash > 0 && floor((s / steps) * length / dash) % 2 === 1) continue;
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dy = -floor(r); dy <= ceil(r); dy++) for (let dx = -floor(r); dx <= ceil(r); dx++) this.pixel(x + dx, y + dy, c);
    }
  }

  disc(cx: number, cy: number, radius: number, c: Rgb, alpha = 1): void {
    for (let y = floor(cy - radius); y <= ceil(cy + radius); y++)
      for (let x = floor(cx - radius); x <= ceil(cx + radius); x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) this.pixel(x, y, c, alpha);
  }

  /** Text at (x, y) = its top-left corner; `scale` multiplies the 5x7 font. Unknown characters are drawn as '?'. */
  text(x: number, y: number, s: string, c: Rgb = [0, 0, 0], scale = 1): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const glyph = FONT.get(ch) ?? FONT.get('?')!;
      glyph.forEach((row, gy) => row.forEach((on, gx) => on && this.rect(cx + gx * scale, y + gy * scale, scale, scale, c)));
      cx += CHAR_W * scale;
    }
  }

  static textWidth(s: string, scale = 1): number {
    return s.length * CHAR_W * scale;
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.rgba);
  }
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = pow(10, floor(log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  // Integer multiples of the step, rounded to 12 digits: 3 * 0.2 is 0.6, not 0.6000000000000001.
  for (let k = ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Lines join the points in order; points are drawn as dots. */
  kind: 'line' | 'points';
  color?: Rgb;
  /** Dot radius (points) or line width (lines). */
  size?: number;
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Axis ranges; default: the data's, padded by 5 %. */
  x?: [number, number];
  y?: [number, number];
  width?: number;
  height?: number;
  /** Extra lines printed under the title (e.g. a metric). */
  notes?: string[];
}

function range(values: number[], fixed?: [number, number]): [number, number] {
  if (fixed) return fixed;
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let lo = min(...finite);
  let hi = max(...finite);
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Draws a chart and returns it as PNG bytes. */
export function chart(spec: ChartSpec): Buffer {
  const W = spec.width ?? 720;
  const H = spec.height ?? 520;
  const notes = spec.notes ?? [];
  const left = 64;
  const right = 200;
  const top = 44 + notes.length * 11;
  const bottom = 44;
  const c = new Canvas(W, H);
  const [x0, x1] = range(spec.series.flatMap((s) => s.points.map((p) => p[0])), spec.x);
  const [y0, y1] = range(spec.series.flatMap((s) => s.points.map((p) => p[1])), spec.y);
  const pw = W - left - right;
  const ph = H - top - bottom;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number) => top + ph - ((y - y0) / (y1 - y0)) * ph;
  const grey: Rgb = [120, 120, 120];
  c.text(left, 6, spec.title, [0, 0, 0], 2);
  notes.forEach((n, i) => c.text(left, 26 + i * 11, n, [60, 60, 60]));
  for (const t of niceTicks(x0, x1)) {
    c.line(px(t), top, px(t), top + ph, [230, 230, 230]);
    c.line(px(t), top + ph, px(t), top + ph + 4, grey);
    const label = tickLabel(t);
    c.text(px(t) - Canvas.textWidth(label) / 2, top + ph + 8, label, grey);
  }
  for (const t of niceTicks(y0, y1)) {
    c.line(left, py(t), left + pw, py(t), [230, 230, 230]);
    c.line(left - 4, py(t), left, py(t), grey);
    const label = tickLabel(t);
    c.text(left - 6 - Canvas.textWidth(label), py(t) - 3, label, grey);
  }
  c.line(left, top + ph, left + pw, top + ph, [0, 0, 0]);
  c.line(left, top, left, top + ph, [0, 0, 0]);
  c.text(left + pw / 2 - Canvas.textWidth(spec.xLabel) / 2, H - 16, spec.xLabel);
  c.text(4, top - 12, spec.yLabel);
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const inside = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (s.kind === 'line') {
      for (let k = 1; k < inside.length; k++) c.line(px(inside[k - 1][0]), py(inside[k - 1][1]), px(inside[k][0]), py(inside[k][1]), color, s.size ?? 2, s.dashed ? 6 : 0);
    } else for (const [x, y] of inside) c.disc(px(x), py(y), s.size ?? 2.5, color, 0.75);
    const ly = top + 4 + i * 14;
    if (ly > H - 14) return;
    const lx = left + pw + 12;
    if (s.kind === 'line') c.line(lx, ly + 3, lx + 16, ly + 3, color, 2, s.dashed ? 4 : 0);
    else c.disc(lx + 8, ly + 3, 3, color);
    c.text(lx + 22, ly, s.name.length > 27 ? s.name.slice(0, 26) + '*' : s.name);
  });
  return c.toPng();
}
