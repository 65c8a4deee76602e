import { connect as tlsConnect } from 'node:tls'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Node, type DownMessage, type NodeOptions } from '../../lib/runtime/index.js'
import { collector, newCookie, sleep, until, withNodes, within } from './support.js'
import { makeNodeTls, type NodeTlsMaterial } from './tls-material.js'

const test = suite('TLS between nodes')
const cookie = newCookie()
let tls: NodeTlsMaterial

test.before(async () => {
  tls = await makeNodeTls()
})
test.after(async () => {
  await tls?.dispose()
})

/** Waits until some line of `errors` contains `text`. */
function logged(errors: string[], text: string): Promise<void> {
  return until(() => errors.some(line => line.includes(text)), 5000, `a logged line with ${JSON.stringify(text)} among ${JSON.stringify(errors)}`)
}

/** `from` sends to a collector on `to`; resolves with the monitor's down reason (the link failed) while nothing arrives. */
async function refused(from: Node, to: Node): Promise<void> {
  const inbox = collector(to)
  const down = new Promise<DownMessage>(resolve => from.monitor(inbox.pid, resolve))
  from.send(inbox.pid, 'must not arrive')
  assert.is((await within(down, 5000, 'the failed link to be reported')).reason, 'disconnect')
  await sleep(100)
  assert.equal(inbox.messages, [])
  assert.equal([from.peers(), to.peers()], [[], []])
}

test('two nodes with certificates from the same CA talk over TLS, both ways, with the cookie on top', () =>
  withNodes([{ tls: tls.node, cookie }, { tls: tls.other, cookie }], async ({ node: a, errors: aErrors }, { node: b, errors: bErrors }) => {
    const inA = collector(a)
    const inB = collector(b)
    a.send(inB.pid, { over: 'tls', n: 1 })
    assert.equal(await inB.next(), { over: 'tls', n: 1 })
    b.send(inA.pid, 'back')
    assert.is(await inA.next(), 'back')
    assert.equal([aErrors, bErrors], [[], []])
  }))

test('a dialer whose certificate is not from the CA is refused (mutual TLS), and nothing gets through', () =>
  withNodes([{ tls: tls.node, cookie }, { tls: tls.foreign, cookie }], async ({ node: server, errors }, { node: stranger }) => {
    await refused(stranger, server)
    await logged(errors, 'TLS handshake with')
    assert.ok(errors.some(line => line.includes('certificate')), errors.join('\n'))
  }))

test('a TLS client without any certificate is refused', () =>
  withNodes([{ tls: tls.node, cookie }], async ({ node, errors }) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: node.id.port, ca: tls.node.ca })
    const failures: Error[] = []
    socket.on('error', error => failures.push(error))
    await within(new Promise(resolve => socket.once('close', resolve)), 5000, 'the node to drop the client')
    assert.match(failures[0]?.message ?? '', 'certificate required')
    await logged(errors, 'did not return a certificate')
  }))

test("a dialer refuses a listener whose certificate does not name the host it dialed", () =>
  withNodes([{ tls: tls.node, cookie }, { tls: tls.misnamed, cookie }], async ({ node: dialer, errors }, { node: misnamed }) => {
    await refused(dialer, misnamed)
    await logged(errors, "does not match certificate's altnames")
  }))

test('a DNS name in the id is checked against the certificate too (localhost)', () =>
  withNodes([{ tls: tls.node, cookie }, { tls: tls.other, cookie, advertiseHost: 'localhost' }], async ({ node: a }, { node: b }) => {
    assert.is(b.id.host, 'localhost')
    const inB = collector(b)
    a.send(inB.pid, 'by name')
    assert.is(await inB.next(), 'by name')
  }))

test('a plaintext dialer is refused by a TLS node, and a TLS dialer by a plaintext node', () =>
  withNodes([{ tls: tls.node, cookie }, { cookie }], async ({ node: secure, errors: secureErrors }, { node: plain, errors: plainErrors }) => {
    await refused(plain, secure)
    await logged(secureErrors, 'TLS handshake with 127.0.0.1')
    await refused(secure, plain)
    await logged(plainErrors, 'exceeds the limit')
  }))

test('the cookie is still required over TLS: another cookie, or none, is refused', () =>
  withNodes(
    [{ tls: tls.node, cookie }, { tls: tls.other, cookie: newCookie() }, { tls: tls.other }],
    async ({ node: a, errors: aErrors }, { node: wrongCookie, errors: wrongErrors }, { node: noCookie, errors: noErrors }) => {
      await refused(wrongCookie, a)
      await logged(aErrors, 'cookie mismatch: ')
      await logged(wrongErrors, 'refused the connection: cookie mismatch')
      await refused(noCookie, a)
      await logged(aErrors, 'no cookie proof')
      await logged(noErrors, 'a cookie is required')
    },
  ))

test('unusable TLS options are refused by Node.start with a TypeError', async () => {
  const cases: [NodeOptions['tls'], string][] = [
    [{ key: tls.node.key, cert: tls.node.cert } as NodeOptions['tls'], 'tls.ca is required'],
    [{ key: 'not a key', cert: tls.node.cert, ca: tls.node.ca }, 'tls: unusable'],
    [{ key: tls.other.key, cert: tls.node.cert, ca: tls.node.ca }, 'tls: unusable'],
  ]
  for (const [options, message] of cases) {
    const error = await Node.start({ tls: options }).then(node => node.stop().then(() => null), (thrown: unknown) => thrown)
    assert.instance(error, TypeError)
    assert.match((error as Error).message, message)
  }
})

test.run()
