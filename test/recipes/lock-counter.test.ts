// The concurrency check: N worker processes increment one counter M times under one Lock on a
// 3-server ensemble while links are cut and stalled and the leader is killed and restarted.
// test-timeout: 240
import * as assert from 'uvu/assert'
import { ensembleSuite } from '../support/zookeeper.js'
import { runCounter } from './counter-run.js'

const test = ensembleSuite('lock counter')

test('N processes × M increments under Lock with faults: the counter ends at exactly N*M and no critical sections overlap', async () => {
  const processes = 4
  const rounds = 30
  const result = await runCounter({ processes, rounds, faults: true })
  const detail = `faults ${result.faults}, sections ${result.sections.length} (${result.sections.filter((s) => s.lost).length} lost)\n${result.logs}`
  assert.equal(result.overlaps, [], `critical sections overlap: ${detail}`)
  assert.is(result.value, processes * rounds, detail)
  assert.is(result.ledger, processes * rounds, detail)
  assert.ok(result.faults >= 2, `faults were injected (the holder cut off, then more): ${detail}`)
  console.log(`  ${processes}×${rounds}: ${result.sections.length} sections, ${result.sections.filter((s) => s.lost).length} lost holds, ${result.faults} faults`)
})

test.run()
