import { once } from 'node:events'
import { connect } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Kind } from '../../lib/runtime/codec.js'
import { Node, ProcessId, type DownMessage } from '../../lib/runtime/index.js'
import { assertServes, collector, newCookie, RawPeer, servedThroughout, sleep, until, withNodes, within } from './support.js'

const test = suite('bad input and security')
const secret = newCookie()

/** Opens a bare socket to `node`, writes `bytes`, and resolves once the node has closed it. */
async function sendRaw(node: Node, bytes: Buffer): Promise<void> {
  const socket = connect({ host: node.id.host, port: node.id.port })
  socket.on('error', () => undefined)
  socket.resume()
  await once(socket, 'connect')
  socket.write(bytes)
  await within(once(socket, 'close'), 3000, 'the node to drop the connection')
}

/** Waits until some logged line contains `text` (logging happens as the socket closes). */
function logged(errors: string[], text: string): Promise<void> {
  return until(() => errors.some(line => line.includes(text)), 3000, `a logged line with ${JSON.stringify(text)} among ${JSON.stringify(errors)}`)
}

function frameOf(body: Buffer): Buffer {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(body.length)
  return Buffer.concat([header, body])
}

const [alpha, beta] = [newCookie(), newCookie()]
test('a wrong cookie is refused both ways with a logged reason, and no message gets through', () =>
  withNodes([{ cookie: alpha }, { cookie: beta }], async ({ node: a, errors: aErrors }, { node: b, errors: bErrors }) => {
    const inB = collector(b)
    const inA = collector(a)
    const downFromA = new Promise<DownMessage>(resolve => a.monitor(inB.pid, resolve))
    a.send(inB.pid, 'should never arrive')
    a.nsendRemote(b.id, 'anything', 'should never arrive')
    assert.is((await within(downFromA, 3000, 'disconnect down')).reason, 'disconnect')
    b.send(inA.pid, 'should never arrive either')
    await until(() => bErrors.some(line => line.includes('cookie mismatch')) && aErrors.length >= 2, 3000, 'both refusals logged')
    await sleep(100)
    assert.equal(inA.messages, [])
    assert.equal(inB.messages, [])
    assert.ok(aErrors.some(line => line.includes('cookie mismatch: ') && line.includes(b.id.key)), aErrors.join('\n'))
    assert.ok(bErrors.some(line => line.includes('refused the connection: cookie mismatch')), bErrors.join('\n'))
    assert.equal([a.peers(), b.peers()], [[], []])
    await assertServes(a, alpha)
    await assertServes(b, beta)
  }))

test('a node without a cookie cannot talk to one with a cookie, either way', () =>
  withNodes([{}, { cookie: secret }], async ({ node: open, errors: openErrors }, { node: closed, errors: closedErrors }) => {
    const inClosed = collector(closed)
    const inOpen = collector(open)
    open.send(inClosed.pid, 'no')
    closed.send(inOpen.pid, 'no')
    await until(() => openErrors.length >= 2 && closedErrors.length >= 2, 3000, 'refusals logged')
    await sleep(100)
    assert.equal([inClosed.messages, inOpen.messages], [[], []])
    assert.ok(closedErrors.some(line => line.includes('no cookie proof')), closedErrors.join('\n'))
    assert.ok(closedErrors.some(line => line.includes('has no cookie')), closedErrors.join('\n'))
    assert.ok(openErrors.some(line => line.includes('a cookie is required')), openErrors.join('\n'))
    await assertServes(closed, secret)
  }))

test('garbage before the handshake drops that connection only', () =>
  withNodes([{ cookie: secret }], async ({ node, errors }) =>
    servedThroughout(node, secret, async () => {
      await sendRaw(node, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
      await logged(errors, 'exceeds the limit')
      await sendRaw(node, frameOf(Buffer.from([0x93, 0x01])))
      await logged(errors, 'malformed msgpack')
      await sendRaw(node, frameOf(Buffer.from([0x92, 0xa5, ...Buffer.from('hello'), 0x01])))
      await logged(errors, 'not a zkcloud hello')
      assert.is(errors.length, 3)
    }),
  ))

test('a peer that connects and says nothing is dropped after handshakeTimeout', () =>
  withNodes([{ handshakeTimeout: 150 }], async ({ node, errors }) =>
    servedThroughout(node, undefined, async () => {
      const started = Date.now()
      await sendRaw(node, Buffer.from([0, 0, 0]))
      assert.ok(Date.now() - started >= 100)
      await logged(errors, 'handshake timed out')
    }),
  ))

test('an oversize frame after the handshake drops the connection; one at the limit is fine', () =>
  withNodes([{ maxFrameSize: 1000 }], async ({ node, errors }) =>
    servedThroughout(node, undefined, async () => {
      const out = collector(node)
      const peer = await RawPeer.dial(node.id)
      const atLimit = 1000 - 7
      peer.sendValue([Kind.SEND, out.pid.id, 'x'.repeat(atLimit)])
      assert.is(((await out.next()) as string).length, atLimit)
      const header = Buffer.alloc(4)
      header.writeUInt32BE(1001)
      peer.socket.write(header)
      await within(peer.closed, 3000, 'the node to drop the connection')
      await logged(errors, 'frame of 1001 bytes exceeds the limit of 1000')
      assert.throws(() => node.send(new ProcessId(peer.id, 1), 'y'.repeat(1001)), RangeError)
    }),
  ))

test('malformed msgpack after the handshake drops the connection', () =>
  withNodes([{}], async ({ node, errors }) =>
    servedThroughout(node, undefined, async () => {
      const peer = await RawPeer.dial(node.id)
      peer.socket.write(frameOf(Buffer.from([0x93, 0x01])))
      await within(peer.closed, 3000, 'the node to drop the connection')
      await logged(errors, 'malformed msgpack')
    }),
  ))

test('an unknown message kind drops the connection; frames before it count, frames after it do not', () =>
  withNodes([{}], async ({ node, errors }) =>
    servedThroughout(node, undefined, async () => {
      const out = collector(node)
      const peer = await RawPeer.dial(node.id)
      peer.sendValue([Kind.SEND, out.pid.id, 'before'])
      peer.sendValue([77, out.pid.id, 'unknown'])
      peer.sendValue([Kind.SEND, out.pid.id, 'after'])
      await within(peer.closed, 3000, 'the node to drop the connection')
      assert.is(await out.next(), 'before')
      await logged(errors, 'unknown message kind 77')
      await sleep(50)
      assert.equal(out.messages, [])
      const second = await RawPeer.dial(node.id)
      second.sendValue([Kind.SEND, out.pid.id, ['not', 'a', 'valid'], 'frame'])
      await within(second.closed, 3000, 'the node to drop the connection')
      await logged(errors, 'malformed frame of kind 1')
    }),
  ))

test('a slow receiver: a sender awaiting drain is held back without loss, and resumes in order', () =>
  withNodes([{ outboundHighWaterMark: 64 * 1024, maxOutboundBuffer: 1024 * 1024 }], async ({ node }) => {
    const raw = await RawPeer.listen()
    try {
      const target = new ProcessId(raw.id, 1)
      const TOTAL = 20_000
      let sent = 0
      let refusals = 0
      let dropped = false
      node.on('nodedown', () => (dropped = true))
      node.send(target, { seq: -1 })
      const peer = await raw.next()
      peer.stall()
      const sender = node.spawn(async self => {
        const pad = 'p'.repeat(1024)
        for (let seq = 0; seq < TOTAL; seq++) {
          sent++
          if (!self.send(target, { seq, pad })) {
            refusals++
            await self.drain(target)
          }
        }
      })
      let last = -1
      await until(() => {
        const stuck = sent === last
        last = sent
        return stuck && refusals > 0
      }, 10_000, 'the sender to be held back')
      await sleep(300)
      assert.ok(sent < TOTAL, `sent all ${sent} messages to a peer that reads nothing`)
      assert.not.ok(dropped, 'a sender that awaits drain must not overflow the buffer')
      const exited = node.exited(sender)
      peer.resume()
      assert.is(await within(exited, 20_000, 'the sender to finish after the peer resumes'), 'normal')
      await until(() => peer.frames.length >= TOTAL + 1, 20_000, 'every message to arrive')
      const seqs = peer.frames.map(frame => ((frame as [number, number, { seq: number }])[2]).seq)
      assert.equal(seqs, Array.from({ length: TOTAL + 1 }, (_, i) => i - 1))
      assert.not.ok(dropped)
      peer.destroy()
    } finally {
      raw.server.close()
    }
  }))

test('a slow receiver: a sender ignoring backpressure gets the peer dropped at maxOutboundBuffer', () =>
  withNodes([{ outboundHighWaterMark: 64 * 1024, maxOutboundBuffer: 1024 * 1024 }], async ({ node, errors }) => {
    const raw = await RawPeer.listen()
    try {
      await servedThroughout(node, undefined, () => overflow(node, raw, errors))
    } finally {
      raw.server.close()
    }
  }))

/** Floods a stalled peer, ignoring `send`'s answer, until the node gives up on it. */
async function overflow(node: Node, raw: Awaited<ReturnType<typeof RawPeer.listen>>, errors: string[]): Promise<void> {
  const target = new ProcessId(raw.id, 1)
  const down = new Promise<DownMessage>(resolve => node.monitor(target, resolve))
  const peer = await raw.next()
  peer.stall()
  let dropped = false
  node.on('nodedown', () => (dropped = true))
  const message = 'z'.repeat(1024)
  let sent = 0
  let refused = 0
  while (!dropped && sent < 100_000) {
    if (!node.send(target, message)) refused++
    sent++
    if (sent % 256 === 0) await new Promise(resolve => setImmediate(resolve))
  }
  assert.ok(dropped, `still connected after ${sent} messages`)
  assert.ok(refused > 0)
  assert.ok(sent * 1024 < 64 * 1024 * 1024, `queued ${sent} KiB before giving up`)
  assert.is((await within(down, 1000, 'disconnect down')).reason, 'disconnect')
  await logged(errors, 'reads too slowly')
}

test.run()
