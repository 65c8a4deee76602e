/**
 * The command line, reports and regression file of a simulator world other
 * than the client's (runtime, cluster): `npm run sim -- --world <name> …` with
 * the client world's flags (--seed, --seeds, --budget, --faults,
 * --first-failure, --no-record, --verbose). A failing seed is shrunk to the
 * fewest faults that still fail, printed with its trace and the command that
 * replays it, and added to test/sim/<name>-regressions.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { shrinkFaults } from './shrink.js'

/** What every world's run reports. */
export interface WorldRun<F> {
  seed: number
  ok: boolean
  violations: string[]
  faults: F[]
  trace: string[]
  stats: { steps: number }
}

/** A seed that once failed, replayed by every `npm test`. */
export interface Regression<F> {
  seed: number
  faults: F[]
  found: string
  at: string
}

export interface World<F, R extends WorldRun<F>> {
  readonly name: string
  run(options: { seed: number; faults?: F[] }): Promise<R>
  describe(fault: F): string
  /** Seeds a run without --seed, --seeds or --budget takes. */
  readonly defaultSeeds: number
  /** What the summary line counts besides events (e.g. 'messages sent'), and how much of it a run did. */
  readonly tally: { readonly label: string; of(result: R): number }
}

export interface WorldCli<F, R extends WorldRun<F>> {
  readonly world: World<F, R>
  /** test/sim/<name>-regressions.json, for messages. */
  readonly regressionsPath: string
  loadRegressions(): Regression<F>[]
  /** Prints a failing run: its violations, the shrunk schedule, the trace and the replay command. */
  report(result: R, options: { shrink: boolean; print: (line: string) => void }): Promise<R>
  main(arg: (name: string) => string | undefined, flag: (name: string) => boolean): Promise<void>
}

export function worldCli<F, R extends WorldRun<F>>(world: World<F, R>): WorldCli<F, R> {
  const regressionsPath = `test/sim/${world.name}-regressions.json`
  // In the source tree: this file runs from dist/test/sim/.
  const file = fileURLToPath(new URL(`../../../${regressionsPath}`, import.meta.url))

  const loadRegressions = (): Regression<F>[] => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Regression<F>[]) : [])

  const record = (result: R): void => {
    const list = loadRegressions()
    const faults = JSON.stringify(result.faults)
    if (list.some((r) => r.seed === result.seed && JSON.stringify(r.faults) === faults)) return
    list.push({ seed: result.seed, faults: result.faults, found: result.violations[0] ?? '', at: new Date().toISOString() })
    writeFileSync(file, `${JSON.stringify(list, null, 2)}\n`)
  }

  const report: WorldCli<F, R>['report'] = async (result, options) => {
    const { print } = options
    print(`seed ${result.seed} (${world.name} world) FAILED:\n  ${result.violations.join('\n  ')}`)
    const minimal = options.shrink ? await shrinkFaults(result, world.run) : result
    print(`  minimal fault schedule (${minimal.faults.length} of ${result.faults.length}): ${minimal.faults.map(world.describe).join('; ') || 'none'}`)
    print(`  first violation of the minimal run: ${minimal.violations[0]}`)
    print(`  trace:\n    ${minimal.trace.join('\n    ')}`)
    print(`  replay: npm run sim -- --world ${world.name} --seed ${result.seed} --faults '${JSON.stringify(minimal.faults)}'`)
    return minimal
  }

  const main: WorldCli<F, R>['main'] = async (arg, flag) => {
    const first = Number(arg('seed') ?? Math.floor(Math.random() * 1e9))
    const budgetS = arg('budget') === undefined ? undefined : Number(arg('budget'))
    const count = Number(arg('seeds') ?? (arg('seed') !== undefined && budgetS === undefined ? 1 : budgetS === undefined ? world.defaultSeeds : Infinity))
    const override = arg('faults') === undefined ? undefined : (JSON.parse(arg('faults')!) as F[])
    const started = performance.now()
    let failed = 0
    let ran = 0
    let steps = 0
    let tally = 0
    for (let seed = first; ran < count; seed++) {
      if (budgetS !== undefined && performance.now() - started > budgetS * 1000) break
      const result = await world.run({ seed, ...(override ? { faults: override } : {}) })
      ran++
      steps += result.stats.steps
      tally += world.tally.of(result)
      if (flag('verbose')) console.log(`seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} ${JSON.stringify(result.stats)}`)
      if (result.ok) continue
      failed++
      const killedAfter = (performance.now() - started) / 1000
      const minimal = await report(result, { shrink: override === undefined, print: (l) => console.log(l) })
      if (!flag('no-record') && override === undefined) record(minimal)
      if (flag('first-failure')) {
        console.log(`FIRST FAILURE: seed ${seed} after ${ran} seeds, ${killedAfter.toFixed(1)} s`)
        break
      }
    }
    const seconds = (performance.now() - started) / 1000
    console.log(`${ran} ${world.name} seeds from ${first}: ${failed} failed; ${steps} events, ${tally} ${world.tally.label} in ${seconds.toFixed(1)} s (${((ran / seconds) * 60).toFixed(0)} seeds/min)`)
    process.exitCode = failed > 0 ? 1 : 0
  }

  return { world, regressionsPath, loadRegressions, report, main }
}
