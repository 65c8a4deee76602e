import { connect, type TLSSocket } from 'node:tls'
import * as assert from 'uvu/assert'
import { startEnsemble, type Ensemble } from './ensemble.js'
import { rejection } from './rejection.js'
import { withLogs } from './with-logs.js'
import { ensembleSuite } from './zookeeper.js'

const test = ensembleSuite('tls ensemble')

let ensemble: Ensemble
test.before(async () => {
  ensemble = await startEnsemble({ tls: true })
})
test.after(async () => {
  await ensemble?.stop()
})
const logs = () => ensemble.logs()

function handshake(port: number, options: { ca?: Buffer; cert?: Buffer; key?: Buffer }): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => resolve(socket))
    socket.once('error', reject)
  })
}

test('publishes a secure connect string and client material', withLogs(logs, () => {
  const [server] = ensemble.servers
  assert.is(ensemble.secureConnectString, `127.0.0.1:${server!.secureClientPort}`)
  assert.match(ensemble.tlsMaterial!.ca.toString(), /BEGIN CERTIFICATE/)
  assert.match(ensemble.tlsMaterial!.key.toString(), /BEGIN PRIVATE KEY/)
}))

test('completes a handshake that verifies the server certificate for 127.0.0.1', withLogs(logs, async () => {
  const socket = await handshake(ensemble.servers[0]!.secureClientPort!, ensemble.tlsMaterial!)
  assert.ok(socket.authorized)
  assert.match(socket.getPeerCertificate().subjectaltname ?? '', /IP Address:127.0.0.1/)
  socket.destroy()
}))

test('answers a 4-letter word over TLS', withLogs(logs, async () => {
  assert.is(await ensemble.servers[0]!.secureFourLetter('ruok'), 'imok')
}))

test('a client that does not trust the test CA is refused', withLogs(logs, async () => {
  const { cert, key } = ensemble.tlsMaterial!
  const err = await rejection(handshake(ensemble.servers[0]!.secureClientPort!, { cert, key }))
  assert.is((err as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
}))

test('the plain client port keeps working', withLogs(logs, async () => {
  assert.is(await ensemble.servers[0]!.fourLetter('ruok'), 'imok')
}))

test.run()
