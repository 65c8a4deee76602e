import { type Clock, type Timer, realEnv } from '../env.js'
import type { Output } from './output.js'

/** How often the progress line is redrawn. */
const REDRAW_MS = 100

const count = (n: number): string => Math.round(n).toLocaleString('en-US')

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * Progress of a bulk command on one line of stderr — `deleting /app: 45,000 of
 * 100,000 (45%), 23,410/s, ETA 2s` — redrawn at most ten times a second, and
 * only when stderr is a terminal: on a pipe or file it writes nothing.
 */
export class Progress {
  private done = 0
  private readonly started: number
  private timer: Timer | null = null
  private drawn = false

  constructor(
    private readonly out: Output,
    private label: string,
    private total: number | null = null,
    private readonly clock: Clock = realEnv,
  ) {
    this.started = clock.now()
    if (out.stderrIsTerminal) this.schedule()
  }

  /** Counts `n` more items done. */
  add(n = 1): void {
    this.done += n
  }

  /** Changes what is being done (and how many there are, when known). */
  phase(label: string, total: number | null = null): void {
    this.label = label
    this.total = total
  }

  /** Items done so far. */
  get count(): number {
    return this.done
  }

  /** Milliseconds since the start. */
  get elapsed(): number {
    return this.clock.now() - this.started
  }

  /** `12,000 nodes in 1.4 s (8,571/s)`. */
  summary(noun: string): string {
    const ms = this.elapsed
    const rate = ms > 0 ? ` (${count((this.done * 1000) / ms)}/s)` : ''
    return `${count(this.done)} ${noun} in ${(ms / 1000).toFixed(1)} s${rate}`
  }

  /** Removes the progress line; nothing is drawn after this. */
  stop(): void {
    this.timer?.cancel()
    this.timer = null
    if (this.drawn) this.out.status('\r\x1b[K')
    this.drawn = false
  }

  private schedule(): void {
    this.timer = this.clock
      .setTimer(REDRAW_MS, () => {
        this.draw()
        this.schedule()
      })
      .unref()
  }

  private draw(): void {
    const seconds = this.elapsed / 1000
    const rate = seconds > 0 ? this.done / seconds : 0
    let text = `${this.label}: ${count(this.done)}`
    if (this.total !== null && this.total > 0) {
      text += ` of ${count(this.total)} (${Math.min(100, Math.floor((100 * this.done) / this.total))}%)`
    }
    text += `, ${count(rate)}/s`
    if (this.total !== null && rate > 0 && this.done < this.total) text += `, ETA ${duration(((this.total - this.done) / rate) * 1000)}`
    this.out.status(`\r\x1b[K${text}`)
    this.drawn = true
  }
}
