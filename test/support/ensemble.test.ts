import * as assert from 'uvu/assert'
import { startEnsemble, type Ensemble } from './ensemble.js'
import { waitFor } from './wait.js'
import { withLogs } from './with-logs.js'
import { ensembleSuite } from './zookeeper.js'

const test = ensembleSuite('ensemble')

let ensemble: Ensemble | undefined
test.after.each(async () => {
  await ensemble?.stop()
  ensemble = undefined
})
const logs = () => ensemble?.logs() ?? ''

test('three servers elect one leader; killing it elects another; it rejoins as follower', withLogs(logs, async () => {
  ensemble = await startEnsemble({ size: 3 })
  assert.is(ensemble.connectString, ensemble.servers.map(s => `127.0.0.1:${s.clientPort}`).join(','))
  const modes = await Promise.all(ensemble.servers.map(s => s.mode()))
  assert.equal(modes.filter(m => m === 'leader').length, 1)
  assert.equal(modes.filter(m => m === 'follower').length, 2)

  const first = (await ensemble.leader())!
  await first.kill()
  await ensemble.waitReady()
  const second = (await ensemble.leader())!
  assert.is.not(second.id, first.id)

  await first.start()
  await ensemble.waitReady()
  assert.is(await first.mode(), 'follower')
}))

test('a stalled leader is replaced, and comes back as a follower when resumed', withLogs(logs, async () => {
  ensemble = await startEnsemble({ size: 3 })
  const stalled = (await ensemble.leader())!
  await stalled.stall()
  await ensemble.waitReady()
  const leader = (await ensemble.leader())!
  assert.is.not(leader.id, stalled.id)
  stalled.resume()
  // It still claims leadership until it notices it lost its followers (syncLimit ticks).
  await ensemble.waitReady()
  assert.is(await stalled.mode(), 'follower')
}))

test('read-only: the last server standing serves read-only', withLogs(logs, async () => {
  ensemble = await startEnsemble({ size: 3, readOnly: true })
  const [survivor, ...others] = ensemble.servers
  await Promise.all(others.map(s => s.kill()))
  await waitFor('read-only mode', async () => (await survivor!.mode()) === 'read-only', { timeoutMs: 15_000 })
  assert.is(await survivor!.fourLetter('isro'), 'ro')
}))

test.run()
