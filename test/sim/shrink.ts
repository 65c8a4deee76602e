import type { RunResult } from './run.js'
import { runSeed } from './run.js'

/**
 * Shrinks a failing run's fault schedule: drops faults one at a time while
 * the seed still fails (any violation), until no single fault can go, within
 * `budget` runs. Returns the last failing run, which replays identically from
 * its seed and faults. Serves every world (`run` is its seed runner).
 */
export async function shrinkFaults<F, R extends { seed: number; ok: boolean; faults: F[] }>(
  failing: R,
  run: (options: { seed: number; faults: F[] }) => Promise<R>,
  budget = 200,
): Promise<R> {
  let best = failing
  let runs = 0
  for (let changed = true; changed && runs < budget; ) {
    changed = false
    for (let i = 0; i < best.faults.length && runs < budget; i++) {
      runs++
      const attempt = await run({ seed: best.seed, faults: best.faults.filter((_, k) => k !== i) })
      if (!attempt.ok) {
        best = attempt
        changed = true
        i--
      }
    }
  }
  return best
}

/** The client world's shrink. */
export function shrink(failing: RunResult, budget = 200): Promise<RunResult> {
  return shrinkFaults(failing, runSeed, budget)
}
