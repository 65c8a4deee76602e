import { startEnsemble, type Ensemble } from '../test/support/ensemble.js'

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}

/** Formats a number with a few significant digits. */
export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(digits)
}

/** Prints a Markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, header.map(() => '---'), ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))]
  for (const r of cells) console.log(`| ${r.join(' | ')} |`)
}

/**
 * ZooKeeper servers for a benchmark: `ZK_BENCH_HOSTS` if set, otherwise
 * real servers started from the installed ZooKeeper (and stopped by `stop`).
 */
export async function benchServers(size: 1 | 3 = 1, tickTime = 500): Promise<{ connectString: string; ensemble?: Ensemble; stop(): Promise<void> }> {
  const hosts = process.env.ZK_BENCH_HOSTS
  if (hosts) return { connectString: hosts, stop: async () => {} }
  const ensemble = await startEnsemble({ size, tickTime })
  return { connectString: ensemble.connectString, ensemble, stop: () => ensemble.stop() }
}

/** Reads a positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : fallback
}
