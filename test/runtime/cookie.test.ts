import { once } from 'node:events'
import { connect } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { realEnv, type Env } from '../../lib/env.js'
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import { Node } from '../../lib/runtime/index.js'
import { cookieBits, MIN_COOKIE_BITS } from '../../lib/runtime/transport/cookie.js'
import { FrameDecoder } from '../../lib/runtime/transport/framing.js'
import { rng } from '../support/rng.js'
import { newCookie, within } from './support.js'

const test = suite('cookies')

/** Real timers, but randomness (incarnation, nonces) replayed from `seed`. */
function seededEnv(seed: number): Env {
  const random = rng(seed)
  return { ...realEnv, random, randomBytes: n => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256))) }
}

/**
 * Probes `node` as an attacker without the cookie would: says hello, then
 * sends a made-up proof; returns every byte the node sent until it closed.
 */
async function probe(node: Node): Promise<{ bytes: Buffer; frames: unknown[] }> {
  const socket = connect({ host: node.id.host, port: node.id.port })
  await once(socket, 'connect')
  const received: Buffer[] = []
  const frames: unknown[] = []
  const decoder = new FrameDecoder(1024)
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk)
    decoder.push(chunk, (buffer, start, end) => {
      frames.push(decodeValue(buffer, start, end))
      if (frames.length === 1) socket.write(encodeFrame(['proof', Buffer.alloc(32, 7)], 1024))
    })
  })
  socket.write(encodeFrame(['zkcloud', 2, 'hello', ['127.0.0.1', 9, 9], Buffer.alloc(32, 1)], 1024))
  await within(once(socket, 'close'), 5000, 'the node to close the probe')
  return { bytes: Buffer.concat(received), frames }
}

test('a probe that proves nothing learns nothing: a node sends the same bytes whatever its cookie', async () => {
  const answers: Buffer[] = []
  let port = 0
  for (const cookie of [newCookie(), newCookie()]) {
    const node = await Node.start({ port, cookie, env: seededEnv(42), logError: () => undefined })
    port = node.id.port
    try {
      const { bytes, frames } = await probe(node)
      assert.is(frames.length, 2)
      const [challenge, refusal] = frames as [unknown[], unknown[]]
      assert.is(challenge[0], 'challenge')
      assert.is(challenge.length, 4, 'the challenge carries the id, a nonce and a flag, no proof')
      assert.equal(refusal, ['refuse', 'cookie mismatch'])
      answers.push(bytes)
    } finally {
      await node.stop()
    }
  }
  assert.ok(answers[0]?.equals(answers[1] as Buffer), 'the bytes a probe receives depend on the cookie')
})

test('weak cookies are refused with a TypeError that says how to make a good one', async () => {
  for (const weak of ['secret', 'alpha', 'x'.repeat(20), 'a1b2c3d4'.repeat(3), '0123456789abcdef0123456789abcde', 'correct horse']) {
    const error = await Node.start({ cookie: weak }).then(
      node => node.stop().then(() => null),
      (thrown: unknown) => thrown,
    )
    assert.instance(error, TypeError, weak)
    assert.match((error as Error).message, 'cookie too weak')
    assert.match((error as Error).message, 'randomBytes(16)')
    assert.not.match((error as Error).message, weak, 'the message must not repeat the cookie')
  }
  for (const bad of ['', 42]) {
    const error = await Node.start({ cookie: bad as string }).then(() => null, (thrown: unknown) => thrown)
    assert.instance(error, TypeError)
  }
})

test('random cookies of 128 bits pass: 32 hex digits, 22 base64url characters, 20 printable characters', async () => {
  for (const strong of [newCookie(), 'Zm9vYmFyYmF6cXV4cXV1eA', 'k#8v!Q2z@Lp4&Wn7^Rt1']) {
    assert.ok(cookieBits(strong) >= MIN_COOKIE_BITS, strong)
    const node = await Node.start({ cookie: strong })
    await node.stop()
  }
})

test('the entropy estimate: length times the bits of the smallest usual alphabet', () => {
  assert.is(cookieBits('0123456789'), 10 * Math.log2(10))
  assert.is(cookieBits('deadbeef'), 32)
  assert.is(cookieBits('DEADBEEF'), 32)
  assert.is(cookieBits('xyz'), 3 * Math.log2(26))
  assert.is(cookieBits('aZ09'), 4 * Math.log2(62))
  assert.is(cookieBits('a-_b'), 4 * 6)
  assert.is(cookieBits('ab+/=='), 4 * 6, 'base64 padding does not count')
  assert.is(cookieBits('a b!'), 4 * Math.log2(95))
  assert.is(cookieBits('ab\u00e9'), 2 * Math.log2(95) + 8)
})

test.run()
