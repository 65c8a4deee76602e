import * as assert from 'uvu/assert'
import { startEnsemble, type Ensemble } from './ensemble.js'
import { isProcessAlive } from './process-alive.js'
import { rejection } from './rejection.js'
import { withLogs } from './with-logs.js'
import { ensembleSuite } from './zookeeper.js'

const test = ensembleSuite('zk-server')

let ensemble: Ensemble | undefined
test.after.each(async () => {
  await ensemble?.stop()
  ensemble = undefined
})
const logs = () => ensemble?.logs() ?? ''

test('a single server answers ruok and srvr, and stop() leaves no process', withLogs(logs, async () => {
  ensemble = await startEnsemble()
  const [server] = ensemble.servers
  assert.is(ensemble.connectString, `127.0.0.1:${server!.clientPort}`)
  assert.is(await server!.fourLetter('ruok'), 'imok')
  assert.is(await server!.mode(), 'standalone')
  const pid = server!.pid!
  await ensemble.stop()
  assert.not.ok(isProcessAlive(pid), 'java process still there')
  assert.not.ok(server!.isRunning)
}))

test('a stalled server answers nothing until resumed', withLogs(logs, async () => {
  ensemble = await startEnsemble()
  const [server] = ensemble.servers
  await server!.stall()
  assert.ok(server!.isStalled)
  assert.match((await rejection(server!.fourLetter('ruok', 300))).message, /no answer within 300 ms/)
  server!.resume()
  assert.is(await server!.fourLetter('ruok'), 'imok')
}))

test('a killed server restarts on the same port and serves again', withLogs(logs, async () => {
  ensemble = await startEnsemble()
  const [server] = ensemble.servers
  const pid = server!.pid!
  await server!.kill()
  assert.not.ok(isProcessAlive(pid))
  assert.is(await server!.mode(), null)
  await server!.start()
  assert.is.not(server!.pid, pid)
  assert.is(await server!.waitServing(), 'standalone')
}))

test('stop() is graceful: the server logs its shutdown', withLogs(logs, async () => {
  ensemble = await startEnsemble()
  const [server] = ensemble.servers
  await server!.stop()
  assert.not.ok(server!.isRunning)
  assert.match(server!.logs(), /shutdown|Shutting down/i)
}))

test('a SASL server starts and logs in with its JAAS file', withLogs(logs, async () => {
  ensemble = await startEnsemble({ sasl: { users: { alice: 'secret', bob: 'with "quotes"' } } })
  assert.is(await ensemble.servers[0]!.mode(), 'standalone')
  assert.match(ensemble.servers[0]!.logs(500), /Server successfully logged in/)
}))

test('a server that cannot start fails with its log', withLogs(logs, async () => {
  const err = await rejection(startEnsemble({ jvmFlags: ['-XX:+NoSuchJvmOption'] }))
  assert.match(err.message, /did not start/)
  assert.match(err.message, /NoSuchJvmOption/)
}))

test.run()
