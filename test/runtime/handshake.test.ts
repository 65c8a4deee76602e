import { randomBytes } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import { NodeId } from '../../lib/runtime/ids.js'
import { AcceptHandshake, DialHandshake, NONCE_SIZE, REFUSE_SIMULTANEOUS, type HandshakeContext, type HandshakeStep } from '../../lib/runtime/transport/handshake.js'
import { newCookie } from './support.js'

const test = suite('handshake')
const dialerId = new NodeId('127.0.0.1', 4001, 11)
const acceptorId = new NodeId('127.0.0.1', 4002, 22)
const secret = newCookie()

/** Frames cross real msgpack, as on the wire. */
function wire(value: unknown): unknown {
  const frame = Buffer.from(encodeFrame(value, 1024))
  return decodeValue(frame, 4, frame.length)
}

function context(self: NodeId, cookie: string | undefined, extra: Partial<HandshakeContext> = {}): HandshakeContext {
  return { self, cookie, nonce: randomBytes(NONCE_SIZE), binding: undefined, ...extra }
}

function dialer(cookie: string | undefined, extra?: Partial<HandshakeContext>, expected = acceptorId): DialHandshake {
  return new DialHandshake(context(dialerId, cookie, extra), expected)
}

function acceptor(cookie: string | undefined, extra?: Partial<HandshakeContext>): AcceptHandshake {
  return new AcceptHandshake(context(acceptorId, cookie, extra))
}

function frameOf(step: HandshakeStep): unknown {
  if (step.kind === 'reply' || step.kind === 'hello') return step.frame
  if (step.kind === 'fail' && step.frame !== undefined) return step.frame
  throw new Error(`no frame to send after ${step.kind}${step.kind === 'fail' ? `: ${step.error.message}` : ''}`)
}

function run(dial: DialHandshake, accept: AcceptHandshake, verdict: 'welcome' | 'refuse' = 'welcome') {
  const challenge = accept.receive(wire(dial.hello()))
  if (challenge.kind !== 'hello') return { failedAt: 'hello', step: challenge }
  const proof = dial.receive(wire(challenge.frame))
  if (proof.kind !== 'reply') return { failedAt: 'challenge', step: proof }
  const authenticated = accept.receive(wire(proof.frame))
  if (authenticated.kind !== 'authenticated') return { failedAt: 'proof', step: authenticated }
  const answer = verdict === 'welcome' ? accept.welcome() : accept.refuse(REFUSE_SIMULTANEOUS)
  return { failedAt: null, step: dial.receive(wire(answer)), authenticated }
}

function failure(step: HandshakeStep): string {
  return step.kind === 'fail' ? step.error.message : `not a failure: ${step.kind}`
}

/** Every byte string inside a frame, however nested. */
function bytesIn(value: unknown): Buffer[] {
  if (value instanceof Uint8Array) return [Buffer.from(value)]
  return Array.isArray(value) ? value.flatMap(bytesIn) : []
}

test('same cookie: both sides authenticate, the acceptor proves itself in its welcome', () => {
  const result = run(dialer(secret), acceptor(secret))
  assert.is(result.failedAt, null)
  assert.is(result.step.kind, 'open')
  assert.ok(result.authenticated?.kind === 'authenticated' && result.authenticated.peer.equals(dialerId))
})

test('no cookie on either side: ids are exchanged', () => {
  assert.is(run(dialer(undefined), acceptor(undefined)).step.kind, 'open')
})

test('a probe that proves nothing learns nothing: the challenge and the refusal do not depend on the cookie', () => {
  // Two acceptors with different cookies and the same nonce answer the same probe.
  const nonce = randomBytes(NONCE_SIZE)
  const probe = wire(dialer(undefined).hello())
  const answers = [newCookie(), newCookie()].map(cookie => {
    const accept = acceptor(cookie, { nonce })
    const challenge = frameOf(accept.receive(probe))
    const refusal = frameOf(accept.receive(wire(['proof', randomBytes(NONCE_SIZE)])))
    return Buffer.from(encodeFrame([challenge, refusal], 1024))
  })
  assert.equal(answers[0], answers[1], 'the answers differ with the cookie: they carry something derived from it')
  // The challenge carries only the acceptor's id, its fresh nonce and whether it wants a cookie.
  const accept = acceptor(secret, { nonce })
  const challenge = frameOf(accept.receive(probe)) as unknown[]
  assert.equal(challenge, ['challenge', [acceptorId.host, acceptorId.port, acceptorId.incarnation], nonce, true])
  assert.equal(bytesIn(challenge), [nonce])
  assert.equal(frameOf(accept.receive(wire(['proof', randomBytes(NONCE_SIZE)]))), ['refuse', 'cookie mismatch'])
})

test('a wrong cookie is caught by the acceptor, which proves nothing, and the dialer is told', () => {
  const dial = dialer(secret)
  const accept = acceptor(newCookie())
  const proof = dial.receive(wire(frameOf(accept.receive(wire(dial.hello())))))
  const step = accept.receive(wire(frameOf(proof)))
  assert.match(failure(step), `cookie mismatch: ${dialerId.key} proved a different cookie`)
  assert.equal(bytesIn(frameOf(step)), [])
  assert.match(failure(dial.receive(wire(frameOf(step)))), 'refused the connection: cookie mismatch')
})

test('a welcome without a valid acceptor proof is refused by the dialer (an impostor listener)', () => {
  for (const welcome of [['welcome', null], ['welcome', randomBytes(NONCE_SIZE)]]) {
    const dial = dialer(secret)
    const accept = acceptor(secret)
    const proof = frameOf(dial.receive(wire(frameOf(accept.receive(wire(dial.hello()))))))
    assert.is(accept.receive(wire(proof)).kind, 'authenticated')
    assert.match(failure(dial.receive(wire(welcome))), 'welcomed us without proving the cookie')
  }
})

test("the dialer's own proof, sent back as the welcome, is refused (the role is in the MAC)", () => {
  const dial = dialer(secret)
  const accept = acceptor(secret)
  const proof = frameOf(dial.receive(wire(frameOf(accept.receive(wire(dial.hello())))))) as [string, Uint8Array]
  assert.match(failure(dial.receive(wire(['welcome', proof[1]]))), 'without proving the cookie')
})

test('a dialer without a cookie is refused with a reason', () => {
  const result = run(dialer(undefined), acceptor(secret))
  assert.is(result.failedAt, 'proof')
  assert.match(failure(result.step), 'no cookie proof')
  assert.equal(frameOf(result.step), ['refuse', 'a cookie is required'])
})

test('a dialer with a cookie refuses an acceptor without one, without proving anything', () => {
  const result = run(dialer(secret), acceptor(undefined))
  assert.is(result.failedAt, 'challenge')
  assert.match(failure(result.step), 'has no cookie')
  assert.equal(frameOf(result.step), ['refuse', 'a cookie is required'])
})

test('a proof from another session is refused (fresh nonces)', () => {
  const first = dialer(secret)
  const proof = frameOf(first.receive(wire(frameOf(acceptor(secret).receive(wire(first.hello()))))))
  const replayTarget = acceptor(secret)
  replayTarget.receive(wire(first.hello()))
  assert.match(failure(replayTarget.receive(wire(proof))), 'cookie mismatch')
})

test('proofs are bound to the TLS session: a proof made in one does not verify in another, nor over plain TCP', () => {
  const [one, other] = [randomBytes(32), randomBytes(32)]
  assert.is(run(dialer(secret, { binding: one }), acceptor(secret, { binding: one })).step.kind, 'open')
  assert.match(failure(run(dialer(secret, { binding: one }), acceptor(secret, { binding: other })).step), 'cookie mismatch')
  assert.match(failure(run(dialer(secret, { binding: one }), acceptor(secret)).step), 'cookie mismatch')
})

test('a refusal for a simultaneous connect makes the dialer yield', () => {
  assert.is(run(dialer(secret), acceptor(secret), 'refuse').step.kind, 'yield')
})

test('another incarnation at the dialed address is stale', () => {
  const dial = dialer(undefined, {}, new NodeId('127.0.0.1', 4002, 21))
  const accept = acceptor(undefined)
  assert.is(dial.receive(wire(frameOf(accept.receive(wire(dial.hello()))))).kind, 'stale')
})

test('garbage and wrong versions fail the acceptor; a version 1 (listener-proves-first) hello is refused', () => {
  for (const frame of ['GET / HTTP/1.1', [], ['zkcloud', 2, 'hello'], ['zkcloud', 2, 'hello', [1, 2, 3], Buffer.alloc(32)], ['other', 2, 'hello', ['h', 1, 1], Buffer.alloc(32)]]) {
    assert.is(acceptor(undefined).receive(wire(frame)).kind, 'fail', JSON.stringify(frame))
  }
  const v1 = acceptor(secret).receive(wire(['zkcloud', 1, 'hello', ['h', 1, 1], Buffer.alloc(32)]))
  assert.match(failure(v1), 'protocol version 1 is not 2')
  assert.equal(frameOf(v1), ['refuse', 'unsupported protocol version'])
})

test('a malformed challenge or welcome fails the dialer', () => {
  for (const challenge of [['challenge', [acceptorId.host, acceptorId.port, acceptorId.incarnation], Buffer.alloc(32)], ['challenge', 'x', Buffer.alloc(32), true], 'hi']) {
    const dial = dialer(secret)
    dial.hello()
    assert.is(dial.receive(wire(challenge)).kind, 'fail', JSON.stringify(challenge))
  }
})

test('a peer claiming to be the acceptor itself is refused', () => {
  const dial = new DialHandshake(context(acceptorId, undefined), acceptorId)
  assert.match(failure(acceptor(undefined).receive(wire(dial.hello()))), 'claims to be this node')
})

test.run()
