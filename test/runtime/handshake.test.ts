import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import { NodeId } from '../../lib/runtime/ids.js'
import { AcceptHandshake, DialHandshake, REFUSE_SIMULTANEOUS, type HandshakeStep } from '../../lib/runtime/transport/handshake.js'

const test = suite('handshake')
const dialerId = new NodeId('127.0.0.1', 4001, 11)
const acceptorId = new NodeId('127.0.0.1', 4002, 22)

/** Frames cross real msgpack, as on the wire. */
function wire(value: unknown): unknown {
  const frame = Buffer.from(encodeFrame(value, 1024))
  return decodeValue(frame, 4, frame.length)
}

function run(dialerCookie: string | undefined, acceptorCookie: string | undefined, verdict: 'welcome' | 'refuse' = 'welcome') {
  const dialer = new DialHandshake(dialerId, acceptorId, dialerCookie)
  const acceptor = new AcceptHandshake(acceptorId, acceptorCookie)
  const challenge = acceptor.receive(wire(dialer.hello()))
  if (challenge.kind !== 'reply') return { failedAt: 'hello', step: challenge }
  const proof = dialer.receive(wire(challenge.frame))
  if (proof.kind !== 'reply') return { failedAt: 'challenge', step: proof }
  const authenticated = acceptor.receive(wire(proof.frame))
  if (authenticated.kind !== 'authenticated') return { failedAt: 'proof', step: authenticated }
  const answer = verdict === 'welcome' ? acceptor.welcome() : acceptor.refuse(REFUSE_SIMULTANEOUS)
  return { failedAt: null, step: dialer.receive(wire(answer)), authenticated }
}

function failure(step: HandshakeStep): string {
  return step.kind === 'fail' ? step.error.message : `not a failure: ${step.kind}`
}

test('same cookie: both sides authenticate', () => {
  const result = run('secret', 'secret')
  assert.is(result.failedAt, null)
  assert.is(result.step.kind, 'open')
  assert.ok(result.authenticated?.kind === 'authenticated' && result.authenticated.peer.equals(dialerId))
})

test('no cookie on either side: ids are exchanged', () => {
  const result = run(undefined, undefined)
  assert.is(result.step.kind, 'open')
})

test('a wrong cookie is caught by the dialer, before it proves anything, and the acceptor is told', () => {
  const dialer = new DialHandshake(dialerId, acceptorId, 'secret')
  const acceptor = new AcceptHandshake(acceptorId, 'other')
  const challenge = acceptor.receive(wire(dialer.hello())) as { kind: 'reply'; frame: unknown }
  const step = dialer.receive(wire(challenge.frame))
  assert.match(failure(step), 'cookie mismatch')
  assert.ok(step.kind === 'fail' && step.frame !== undefined)
  assert.match(failure(acceptor.receive(wire(step.kind === 'fail' ? step.frame : null))), 'refused the connection: cookie mismatch')
})

test('a dialer without a cookie is refused with a reason', () => {
  const result = run(undefined, 'secret')
  assert.is(result.failedAt, 'proof')
  assert.match(failure(result.step), 'no cookie proof')
  assert.ok(result.step.kind === 'fail' && Array.isArray(result.step.frame) && result.step.frame[0] === 'refuse')
})

test('a dialer with a cookie refuses an acceptor without one', () => {
  const result = run('secret', undefined)
  assert.is(result.failedAt, 'challenge')
  assert.match(failure(result.step), 'has no cookie')
})

test('a proof from another session is refused (fresh nonces)', () => {
  const first = new DialHandshake(dialerId, acceptorId, 'secret')
  const firstAcceptor = new AcceptHandshake(acceptorId, 'secret')
  const challenge = firstAcceptor.receive(wire(first.hello())) as { kind: 'reply'; frame: unknown }
  const proof = first.receive(wire(challenge.frame)) as { kind: 'reply'; frame: unknown }

  const replayTarget = new AcceptHandshake(acceptorId, 'secret')
  replayTarget.receive(wire(first.hello()))
  assert.match(failure(replayTarget.receive(wire(proof.frame))), 'cookie mismatch')
})

test("an acceptor's proof cannot be reflected as a dialer's", () => {
  const dialer = new DialHandshake(dialerId, acceptorId, 'secret')
  const acceptor = new AcceptHandshake(acceptorId, 'secret')
  const challenge = acceptor.receive(wire(dialer.hello())) as { kind: 'reply'; frame: unknown[] }
  assert.match(failure(acceptor.receive(wire(['proof', challenge.frame[3]]))), 'cookie mismatch')
})

test('a refusal for a simultaneous connect makes the dialer yield', () => {
  assert.is(run('secret', 'secret', 'refuse').step.kind, 'yield')
})

test('another incarnation at the dialed address is stale', () => {
  const dialer = new DialHandshake(dialerId, new NodeId('127.0.0.1', 4002, 21), undefined)
  const acceptor = new AcceptHandshake(acceptorId, undefined)
  const challenge = acceptor.receive(wire(dialer.hello())) as { kind: 'reply'; frame: unknown }
  assert.is(dialer.receive(wire(challenge.frame)).kind, 'stale')
})

test('garbage and wrong versions fail the acceptor', () => {
  for (const frame of ['GET / HTTP/1.1', [], ['zkcloud', 1, 'hello'], ['zkcloud', 1, 'hello', [1, 2, 3], Buffer.alloc(32)], ['other', 1, 'hello', ['h', 1, 1], Buffer.alloc(32)]]) {
    assert.is(new AcceptHandshake(acceptorId, undefined).receive(wire(frame)).kind, 'fail', JSON.stringify(frame))
  }
  const versioned = new AcceptHandshake(acceptorId, undefined).receive(wire(['zkcloud', 2, 'hello', ['h', 1, 1], Buffer.alloc(32)]))
  assert.match(failure(versioned), 'protocol version')
})

test('a peer claiming to be the acceptor itself is refused', () => {
  const dialer = new DialHandshake(acceptorId, acceptorId, undefined)
  assert.match(failure(new AcceptHandshake(acceptorId, undefined).receive(wire(dialer.hello()))), 'claims to be this node')
})

test.run()
