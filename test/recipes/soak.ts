// The recipes' long checks, kept out of `npm test`: `npm run soak:recipes [-- name…]`.
//   deep      a path 10,000 levels deep through mkdirp and deleteRecursive, on a real
//             server with a 1 GiB heap (100 MB of paths) and on the dev server
//   counter   the multi-process Lock counter with faults, bigger (SOAK_N processes × SOAK_M rounds)
import * as assert from 'uvu/assert'
import { startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { startEnsemble } from '../support/ensemble.js'
import { runCounter } from './counter-run.js'

async function deep(connectString: string, label: string): Promise<void> {
  const zk = await ZooKeeper.connect(connectString, { sessionTimeout: 30_000 })
  try {
    const depth = 10_000
    const path = '/d'.repeat(depth)
    let started = Date.now()
    await zk.mkdirp(path, { data: 'bottom' })
    const made = Date.now() - started
    assert.is((await zk.getData(path)).data.toString(), 'bottom')
    // (The dev server does not implement getAllChildrenNumber: count on real ZooKeeper only.)
    if (label !== 'dev server') assert.is(await zk.getAllChildrenNumber('/d'), depth - 1)
    started = Date.now()
    await zk.deleteRecursive('/d')
    assert.is(await zk.exists('/d'), null)
    console.log(`deep (${label}): 10,000 levels created in ${made} ms, deleted in ${Date.now() - started} ms`)
  } finally {
    await zk.close()
  }
}

const checks: Record<string, () => Promise<void>> = {
  async deep() {
    const dev = await startDevServer({ port: 0 })
    try {
      await deep(dev.connectString, 'dev server')
    } finally {
      await dev.close()
    }
    const ensemble = await startEnsemble({ size: 1, jvmFlags: ['-Xmx1g'] })
    try {
      await deep(ensemble.connectString, 'ZooKeeper 3.8')
    } finally {
      await ensemble.stop()
    }
  },
  async counter() {
    const n = Number(process.env.SOAK_N ?? 6)
    const m = Number(process.env.SOAK_M ?? 100)
    const result = await runCounter({ processes: n, rounds: m, faults: true })
    console.log(`counter: ${n} processes × ${m} rounds = ${result.value}, ${result.sections} critical sections, ${result.faults} faults injected`)
  },
}

const wanted = process.argv.slice(2)
for (const [name, check] of Object.entries(checks)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.log(`▶ ${name}`)
  await check()
}
console.log('soak: all passed')
