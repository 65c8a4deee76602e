import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { TransportError } from '../../lib/runtime/errors.js'
import { FrameDecoder } from '../../lib/runtime/transport/framing.js'
import { OutboundBuffer } from '../../lib/runtime/transport/outbound.js'

const test = suite('framing')

function frame(body: string): Buffer {
  const bytes = Buffer.from(body)
  const header = Buffer.alloc(4)
  header.writeUInt32BE(bytes.length)
  return Buffer.concat([header, bytes])
}

function cut(decoder: FrameDecoder, chunks: Buffer[]): string[] {
  const bodies: string[] = []
  for (const chunk of chunks) decoder.push(chunk, (buffer, start, end) => void bodies.push(buffer.toString('utf8', start, end)))
  return bodies
}

const stream = Buffer.concat([frame('alpha'), frame(''), frame('b'.repeat(300)), frame('gamma')])
const expected = ['alpha', '', 'b'.repeat(300), 'gamma']

test('cuts frames from one chunk', () => {
  assert.equal(cut(new FrameDecoder(1024), [stream]), expected)
})

test('cuts frames fed one byte at a time', () => {
  const bytes = [...stream].map(byte => Buffer.from([byte]))
  assert.equal(cut(new FrameDecoder(1024), bytes), expected)
})

test('cuts frames at every split point', () => {
  for (let at = 0; at <= stream.length; at++) {
    assert.equal(cut(new FrameDecoder(1024), [stream.subarray(0, at), stream.subarray(at)]), expected, `split at ${at}`)
  }
})

test('refuses a frame announcing more than maxFrameSize, even split', () => {
  const big = frame('x'.repeat(100))
  assert.throws(() => cut(new FrameDecoder(99), [big]), (error: Error) => error instanceof TransportError)
  assert.throws(() => cut(new FrameDecoder(99), [big.subarray(0, 2), big.subarray(2)]), (error: Error) => error instanceof TransportError)
  assert.equal(cut(new FrameDecoder(100), [big]), ['x'.repeat(100)])
})

test('a handler returning false stops cutting', () => {
  const decoder = new FrameDecoder(1024)
  const seen: string[] = []
  decoder.push(stream, (buffer, start, end) => {
    seen.push(buffer.toString('utf8', start, end))
    return false
  })
  assert.equal(seen, ['alpha'])
})

test('handed-out frame bytes are never overwritten', () => {
  const decoder = new FrameDecoder(1024)
  const views: Buffer[] = []
  const bytes = [...stream, ...stream].map(byte => Buffer.from([byte]))
  for (const chunk of bytes) decoder.push(chunk, (buffer, start, end) => void views.push(buffer.subarray(start, end)))
  assert.equal(views.map(view => view.toString()), [...expected, ...expected])
})

test('the outbound buffer keeps order across arenas and hands bytes over for good', () => {
  const outbound = new OutboundBuffer()
  const frames = Array.from({ length: 3000 }, (_, i) => frame(`${i}:${'y'.repeat(i % 200)}`))
  const taken: Buffer[] = []
  frames.forEach((bytes, i) => {
    outbound.append(bytes)
    if (i % 700 === 0) taken.push(...outbound.take())
  })
  taken.push(...outbound.take())
  assert.is(outbound.length, 0)
  assert.ok(Buffer.concat(taken).equals(Buffer.concat(frames)))
  outbound.append(frame('dropped'))
  outbound.clear()
  assert.is(outbound.length, 0)
  assert.equal(outbound.take(), [])
})

test.run()
