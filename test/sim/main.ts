/**
 * The simulator's command line (`npm run sim -- …`):
 *
 *   --seed N        first seed (default: random)
 *   --seeds K       how many seeds (default 1 with --seed, else 1000)
 *   --budget S      stop after S seconds of wall time instead
 *   --faults JSON   replace the seed's fault schedule (a reproduction)
 *   --first-failure stop at the first failing seed
 *   --no-record     do not add failing seeds to test/sim/regressions.json
 *   --verbose       one line per seed
 *   --world runtime the runtime world instead (test/sim/runtime-world.ts)
 *   --world cluster the cluster world instead (test/sim/cluster-world.ts)
 *
 * A failing seed is shrunk to the smallest fault schedule that still fails
 * and printed with the command that replays it; it is also added to the
 * regressions file, which `npm test` replays every time.
 */
import { describeFault, type Fault } from './faults.js'
import { recordRegression } from './regressions.js'
import { type RunResult, runSeed } from './run.js'
import { clusterCli } from './cluster-main.js'
import { runtimeCli } from './runtime-main.js'
import { shrink } from './shrink.js'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`)

/** Prints a failing run: its violations, the shrunk schedule, the trace and the replay command. */
export async function report(result: RunResult, options: { shrink: boolean; print: (line: string) => void }): Promise<RunResult> {
  const { print } = options
  print(`seed ${result.seed} FAILED:\n  ${result.violations.join('\n  ')}`)
  const minimal = options.shrink ? await shrink(result) : result
  print(`  minimal fault schedule (${minimal.faults.length} of ${result.faults.length}): ${minimal.faults.map(describeFault).join('; ') || 'none'}`)
  print(`  first violation of the minimal run: ${minimal.violations[0]}`)
  print(`  trace:\n    ${minimal.trace.join('\n    ')}`)
  print(`  replay: npm run sim -- --seed ${result.seed} --faults '${JSON.stringify(minimal.faults)}'`)
  return minimal
}

async function main(): Promise<void> {
  const first = Number(arg('seed') ?? Math.floor(Math.random() * 1e9))
  const budgetS = arg('budget') === undefined ? undefined : Number(arg('budget'))
  const count = Number(arg('seeds') ?? (arg('seed') !== undefined && budgetS === undefined ? 1 : budgetS === undefined ? 1000 : Infinity))
  const override = arg('faults') === undefined ? undefined : (JSON.parse(arg('faults')!) as Fault[])
  const started = performance.now()
  let failed = 0
  let ran = 0
  let steps = 0
  let calls = 0
  for (let seed = first; ran < count; seed++) {
    if (budgetS !== undefined && performance.now() - started > budgetS * 1000) break
    const result = await runSeed({ seed, ...(override ? { faults: override } : {}) })
    ran++
    steps += result.stats.steps
    calls += result.stats.calls
    if (flag('verbose')) console.log(`seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} ${JSON.stringify(result.stats)}`)
    if (result.ok) continue
    failed++
    const killedAfter = (performance.now() - started) / 1000
    const minimal = await report(result, { shrink: override === undefined, print: (l) => console.log(l) })
    if (!flag('no-record') && override === undefined) recordRegression(minimal)
    if (flag('first-failure')) {
      console.log(`FIRST FAILURE: seed ${seed} after ${ran} seeds, ${killedAfter.toFixed(1)} s`)
      break
    }
  }
  const seconds = (performance.now() - started) / 1000
  console.log(`${ran} seeds from ${first}: ${failed} failed; ${steps} events, ${calls} calls in ${seconds.toFixed(1)} s (${((ran / seconds) * 60).toFixed(0)} seeds/min)`)
  process.exitCode = failed > 0 ? 1 : 0
}

if (process.argv[1]?.endsWith('main.js')) await (arg('world') === 'runtime' ? runtimeCli.main(arg, flag) : arg('world') === 'cluster' ? clusterCli.main(arg, flag) : main())
