import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Fault } from './faults.js'
import type { RunResult } from './run.js'

/** A seed that once failed, with the (shrunk) fault schedule that made it fail, replayed by every `npm test`. */
export interface Regression {
  seed: number
  faults: Fault[]
  /** What it found (its first violation when it was recorded). */
  found: string
  /** When it was recorded. */
  at: string
}

/** test/sim/regressions.json in the source tree (this file runs from dist/test/sim/). */
export const REGRESSIONS_FILE = fileURLToPath(new URL('../../../test/sim/regressions.json', import.meta.url))

export function loadRegressions(): Regression[] {
  if (!existsSync(REGRESSIONS_FILE)) return []
  return JSON.parse(readFileSync(REGRESSIONS_FILE, 'utf8')) as Regression[]
}

/** Adds a failing run to the regressions file (once per seed and schedule). */
export function recordRegression(result: RunResult): void {
  const list = loadRegressions()
  const faults = JSON.stringify(result.faults)
  if (list.some((r) => r.seed === result.seed && JSON.stringify(r.faults) === faults)) return
  list.push({ seed: result.seed, faults: result.faults, found: result.violations[0] ?? '', at: new Date().toISOString() })
  writeFileSync(REGRESSIONS_FILE, `${JSON.stringify(list, null, 2)}\n`)
}
