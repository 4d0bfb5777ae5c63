// A small line chart of a figure's last readings, drawn as inline SVG by hand:
// a library would weigh more than the page. The picture is for the eye; its
// label says in words what it shows (now, lowest, highest) for a screen reader.
const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 120;
const HEIGHT = 32;
/** Room above and below the line, so that a flat line at 0 or at the top stays visible. */
const PAD = 2;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

export class Sparkline {
  readonly el: SVGSVGElement;
  private readonly line: SVGPolylineElement;
  private readonly area: SVGPolygonElement;
  private readonly values: number[] = [];

  /**
   * `label` names the figure ("Queued"); `every` says how often a reading
   * comes ("2 s"); `format` writes a value as the page shows it.
   */
  constructor(
    private readonly label: string,
    private readonly capacity: number,
    private readonly every: string,
    private readonly format: (v: number) => string,
  ) {
    this.el = svg('svg', {
      class: 'sparkline',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      // Stretched to the width CSS gives it; the stroke keeps its width (vector-effect).
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': `${label}: no readings yet`,
    });
    this.area = svg('polygon', { class: 'sparkline-area', points: '' });
    this.line = svg('polyline', { class: 'sparkline-line', points: '', 'vector-effect': 'non-scaling-stroke' });
    this.el.append(this.area, this.line);
  }

  push(value: number): void {
    this.values.push(value);
    if (this.values.length > this.capacity) this.values.shift();
    this.draw();
  }

  private draw(): void {
    const v = this.values;
    const max = Math.max(...v);
    const min = Math.min(...v);
    // Scaled from 0 (a queue of 3 next to one of 0 should look like it), at least to 1.
    const top = Math.max(1, max);
    // Until the window is full the readings there are span the whole width
    // (a chart of two readings is a line, not a dot at the edge).
    const step = WIDTH / (Math.max(2, v.length) - 1);
    const points = v.map((value, i) => {
      const x = WIDTH - (v.length - 1 - i) * step;
      const y = HEIGHT - PAD - (value / top) * (HEIGHT - 2 * PAD);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    // One reading: a flat line across.
    if (points.length === 1) points.unshift(`0,${points[0]!.split(',')[1]}`);
    this.line.setAttribute('points', points.join(' '));
    const firstX = points[0]!.split(',')[0];
    this.area.setAttribute('points', `${firstX},${HEIGHT} ${points.join(' ')} ${WIDTH},${HEIGHT}`);
    const now = v[v.length - 1]!;
    this.el.setAttribute(
      'aria-label',
      `${this.label}, ${v.length} readings every ${this.every}: now ${this.format(now)}, lowest ${this.format(min)}, highest ${this.format(max)}`,
    );
  }
}
