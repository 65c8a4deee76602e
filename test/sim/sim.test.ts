// test-timeout: 240
/**
 * The deterministic simulation, as part of `npm test`: every seed that ever
 * failed (test/sim/regressions.json, runtime-regressions.json,
 * cluster-regressions.json), then fresh seeds for a fixed budget of wall time
 * (SIM_BUDGET seconds, default 60: half for the client world, a quarter each
 * for the runtime and the cluster world). A failure prints the shrunk fault
 * schedule and the command that replays it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { report } from './main.js'
import { loadRegressions } from './regressions.js'
import { runSeed } from './run.js'
import { clusterCli } from './cluster-main.js'
import { runtimeCli } from './runtime-main.js'
import type { WorldCli, WorldRun } from './world-cli.js'

const test = suite('deterministic simulation: the client against a simulated ensemble')
const TOTAL_S = Number(process.env.SIM_BUDGET ?? 60)
const RUNTIME_S = TOTAL_S / 4
const CLUSTER_S = TOTAL_S / 4
const BUDGET_S = TOTAL_S - RUNTIME_S - CLUSTER_S

test('every seed that ever failed passes', async () => {
  const failures: string[] = []
  for (const r of loadRegressions()) {
    const result = await runSeed({ seed: r.seed, faults: r.faults })
    if (!result.ok) {
      await report(result, { shrink: false, print: (l) => console.log(l) })
      failures.push(`seed ${r.seed} (first found: ${r.found})`)
    }
  }
  assert.equal(failures, [])
})

test(`fresh seeds for ${BUDGET_S} s pass`, async () => {
  const first = Math.floor(Math.random() * 1e9)
  const started = performance.now()
  let ran = 0
  for (let seed = first; performance.now() - started < BUDGET_S * 1000; seed++) {
    const result = await runSeed({ seed })
    ran++
    if (!result.ok) {
      await report(result, { shrink: true, print: (l) => console.log(l) })
      assert.unreachable(`seed ${seed} failed (after ${ran} seeds): ${result.violations[0]} — add it to test/sim/regressions.json with npm run sim -- --seed ${seed}`)
    }
  }
  console.log(`  ${ran} fresh seeds from ${first} passed in ${((performance.now() - started) / 1000).toFixed(0)} s`)
})

/** A world's two tests: every recorded seed, then fresh seeds for `seconds`. */
function worldTests<F, R extends WorldRun<F>>(cli: WorldCli<F, R>, seconds: number): void {
  const { name } = cli.world
  test(`${name} world: every seed that ever failed passes`, async () => {
    const failures: string[] = []
    for (const r of cli.loadRegressions()) {
      const result = await cli.world.run({ seed: r.seed, faults: r.faults })
      if (!result.ok) {
        await cli.report(result, { shrink: false, print: (l) => console.log(l) })
        failures.push(`seed ${r.seed} (first found: ${r.found})`)
      }
    }
    assert.equal(failures, [])
  })

  test(`${name} world: fresh seeds for ${seconds} s pass`, async () => {
    const first = Math.floor(Math.random() * 1e9)
    const started = performance.now()
    let ran = 0
    for (let seed = first; performance.now() - started < seconds * 1000; seed++) {
      const result = await cli.world.run({ seed })
      ran++
      if (!result.ok) {
        await cli.report(result, { shrink: true, print: (l) => console.log(l) })
        assert.unreachable(`${name} seed ${seed} failed (after ${ran} seeds): ${result.violations[0]} — add it to ${cli.regressionsPath} with npm run sim -- --world ${name} --seed ${seed}`)
      }
    }
    console.log(`  ${ran} fresh ${name} seeds from ${first} passed in ${((performance.now() - started) / 1000).toFixed(0)} s`)
  })
}

worldTests(runtimeCli, RUNTIME_S)
worldTests(clusterCli, CLUSTER_S)

test.run()
