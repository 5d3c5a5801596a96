/**
 * A small hand-written SVG chart: one series over block heights, as a line or
 * bars, with a min/max scale, an optional reference line, and the value under
 * the pointer. It draws at its container's pixel width (not a scaled
 * viewBox) so labels stay readable on a phone, and redraws when resized.
 */
import { h, s } from './dom.ts';
import type { Point } from './stats.ts';

export interface ChartOptions {
  /** Formats a y value for labels. */
  format: (y: number) => string;
  kind?: 'line' | 'bars';
  /** A dashed horizontal line, e.g. the target block time. */
  reference?: { y: number; label: string };
  height?: number;
  /** An accessible name for the chart. */
  label: string;
}

const PAD = { top: 10, right: 10, bottom: 20, left: 58 };

/** A chart bound to a container element; call update() with new points. */
export class Chart {
  readonly el: HTMLElement;
  private points: Point[] = [];
  private reference: ChartOptions['reference'];
  private readonly observer: ResizeObserver;
  private lastWidth = 0;

  constructor(private readonly opts: ChartOptions) {
    this.el = h('div', { class: 'chart', role: 'img', 'aria-label': opts.label });
    // Redraw on real width changes only: drawing changes no width, so this cannot loop.
    this.observer = new ResizeObserver(() => {
      if (this.el.clientWidth !== this.lastWidth) this.draw();
    });
    this.observer.observe(this.el);
  }

  /** Replaces the data (and the reference line, if given) and redraws. */
  update(points: Point[], reference: ChartOptions['reference'] = this.opts.reference): void {
    this.points = points.filter((p) => Number.isFinite(p.y));
    this.reference = reference;
    this.draw();
  }

  /** Stops watching the container's size. */
  dispose(): void {
    this.observer.disconnect();
  }

  private draw(): void {
    const width = Math.max(200, this.el.clientWidth || 600);
    this.lastWidth = this.el.clientWidth;
    const height = this.opts.height ?? 160;
    const pts = this.points;
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'chart-svg' });
    if (pts.length === 0) {
      svg.appendChild(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'waiting for blocks…'));
      this.el.replaceChildren(svg);
      return;
    }
    const ref = this.reference;
    const ys = pts.map((p) => p.y).concat(ref === undefined ? [] : [ref.y]);
    const yMax = Math.max(...ys) * 1.1 || 1;
    const yMin = 0;
    // Bars are centred on their x, so their axis reaches half a step past the first and last.
    const half = this.opts.kind === 'bars' ? 0.5 : 0;
    const first = pts[0]!.x;
    const lastX = pts[pts.length - 1]!.x;
    const xMin = first - half;
    const xMax = Math.max(lastX + half, xMin + 1);
    const iw = width - PAD.left - PAD.right;
    const ih = height - PAD.top - PAD.bottom;
    const X = (x: number): number => PAD.left + ((x - xMin) / (xMax - xMin)) * iw;
    const Y = (y: number): number => PAD.top + ih - ((y - yMin) / (yMax - yMin)) * ih;

    for (const f of [0, 0.5, 1]) {
      const y = yMin + (yMax - yMin) * f;
      svg.appendChild(s('line', { x1: PAD.left, x2: width - PAD.right, y1: Y(y), y2: Y(y), class: 'chart-grid' }));
      svg.appendChild(s('text', { x: PAD.left - 6, y: Y(y) + 4, 'text-anchor': 'end', class: 'chart-axis' }, this.opts.format(y)));
    }
    svg.appendChild(s('text', { x: PAD.left, y: height - 4, class: 'chart-axis' }, `#${first}`));
    svg.appendChild(s('text', { x: width - PAD.right, y: height - 4, 'text-anchor': 'end', class: 'chart-axis' }, `#${lastX}`));

    if (this.opts.kind === 'bars') {
      const bw = Math.max(1, iw / (xMax - xMin) - 1);
      for (const p of pts) svg.appendChild(s('rect', { x: X(p.x) - bw / 2, y: Y(p.y), width: bw, height: Math.max(0, Y(0) - Y(p.y)), class: 'chart-bar' }));
    } else {
      const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join('');
      svg.appendChild(s('path', { d, class: 'chart-line' }));
    }
    if (ref !== undefined) {
      svg.appendChild(s('line', { x1: PAD.left, x2: width - PAD.right, y1: Y(ref.y), y2: Y(ref.y), class: 'chart-ref' }));
      svg.appendChild(s('text', { x: width - PAD.right - 2, y: Y(ref.y) - 4, 'text-anchor': 'end', class: 'chart-ref-label' }, ref.label));
    }

    // The value under the pointer: a marker and a label, nearest point by x.
    const marker = s('circle', { r: 4, class: 'chart-marker', visibility: 'hidden' });
    const readout = s('text', { x: PAD.left + 4, y: PAD.top + 12, class: 'chart-readout' });
    svg.append(marker, readout);
    svg.addEventListener('pointermove', (e: PointerEvent) => {
      const box = svg.getBoundingClientRect();
      const x = xMin + ((e.clientX - box.left - PAD.left) / iw) * (xMax - xMin);
      let best = pts[0]!;
      for (const p of pts) if (Math.abs(p.x - x) < Math.abs(best.x - x)) best = p;
      marker.setAttribute('cx', String(X(best.x)));
      marker.setAttribute('cy', String(Y(best.y)));
      marker.setAttribute('visibility', 'visible');
      readout.textContent = `#${best.x}: ${this.opts.format(best.y)}`;
    });
    svg.addEventListener('pointerleave', () => {
      marker.setAttribute('visibility', 'hidden');
      readout.textContent = '';
    });
    this.el.replaceChildren(svg);
  }
}
