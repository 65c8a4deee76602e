/**
 * A small-multiples line chart as one SVG document, for benchmark results:
 * each panel is one figure against a shared x (log scale), with one line per
 * series (e.g. before and after a change). No dependencies.
 */

/** One line of a panel: y by x; a missing point is skipped. */
export interface Series {
  readonly label: string
  readonly points: ReadonlyArray<readonly [x: number, y: number]>
  readonly dashed?: boolean
}

/** One panel: a title, the unit of y, its lines, and optionally a target drawn as a horizontal rule. */
export interface Panel {
  readonly title: string
  readonly unit: string
  readonly series: readonly Series[]
  readonly target?: number
  /** Log scale on y too (for figures spanning decades). */
  readonly logY?: boolean
}

const W = 300
const H = 200
const M = { left: 52, right: 12, top: 28, bottom: 34 }
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function tickLabel(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toPrecision(3)}k`
  return `${+v.toPrecision(3)}`
}

function panel(p: Panel, xs: readonly number[], ox: number, oy: number): string {
  const ys = p.series.flatMap(s => s.points.map(([, y]) => y)).concat(p.target ?? []).filter(y => Number.isFinite(y) && (!p.logY || y > 0))
  let lo = p.logY ? Math.min(...ys) : 0
  let hi = Math.max(...ys, 1e-9)
  if (p.logY) {
    lo = 10 ** Math.floor(Math.log10(lo))
    hi = 10 ** Math.ceil(Math.log10(hi))
  } else {
    hi *= 1.1
  }
  const fy = (y: number): number => (p.logY ? (Math.log10(y) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (y - lo) / (hi - lo))
  const [x0, x1] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))]
  const px = (x: number): number => ox + M.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right)
  const py = (y: number): number => oy + H - M.bottom - fy(y) * (H - M.top - M.bottom)
  const out: string[] = []
  out.push(`<text x="${ox + W / 2}" y="${oy + 16}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`)
  out.push(`<line x1="${ox + M.left}" y1="${oy + H - M.bottom}" x2="${ox + W - M.right}" y2="${oy + H - M.bottom}" stroke="#444"/>`)
  out.push(`<line x1="${ox + M.left}" y1="${oy + M.top}" x2="${ox + M.left}" y2="${oy + H - M.bottom}" stroke="#444"/>`)
  for (const x of xs) {
    out.push(`<text x="${px(x)}" y="${oy + H - M.bottom + 14}" text-anchor="middle">${tickLabel(x)}</text>`)
  }
  out.push(`<text x="${ox + W / 2}" y="${oy + H - 4}" text-anchor="middle" fill="#555">nodes</text>`)
  const ticks = p.logY
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => (hi * i) / 4)
  for (const t of ticks) {
    out.push(`<line x1="${ox + M.left - 3}" y1="${py(t)}" x2="${ox + W - M.right}" y2="${py(t)}" stroke="#ddd"/>`)
    out.push(`<text x="${ox + M.left - 5}" y="${py(t) + 4}" text-anchor="end">${tickLabel(t)}</text>`)
  }
  out.push(`<text x="${ox + 10}" y="${oy + (H - M.bottom + M.top) / 2}" text-anchor="middle" fill="#555" transform="rotate(-90 ${ox + 10} ${oy + (H - M.bottom + M.top) / 2})">${esc(p.unit)}</text>`)
  if (p.target !== undefined) {
    out.push(`<line x1="${ox + M.left}" y1="${py(p.target)}" x2="${ox + W - M.right}" y2="${py(p.target)}" stroke="#999" stroke-dasharray="2 3"/>`)
    out.push(`<text x="${ox + W - M.right}" y="${py(p.target) - 3}" text-anchor="end" fill="#777">target</text>`)
  }
  p.series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0))
    const color = COLORS[i % COLORS.length]
    const d = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`)
    for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`)
  })
  return out.join('\n')
}

/** Renders the panels in a grid of `columns`, with a legend of the series labels (taken from the first panel). */
export function chart(title: string, panels: readonly Panel[], xs: readonly number[], columns = 3): string {
  const rows = Math.ceil(panels.length / columns)
  const legend = panels[0]?.series ?? []
  const width = columns * W
  const height = rows * H + 48
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ]
  legend.forEach((s, i) => {
    const x = 12 + i * 170
    out.push(`<line x1="${x}" y1="36" x2="${x + 24}" y2="36" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`)
    out.push(`<text x="${x + 30}" y="40">${esc(s.label)}</text>`)
  })
  panels.forEach((p, i) => out.push(panel(p, xs, (i % columns) * W, 48 + Math.floor(i / columns) * H)))
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
