import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { asFrame, decodeValue, encodeFrame, Kind } from '../../lib/runtime/codec.js'
import { TransportError } from '../../lib/runtime/errors.js'

const test = suite('codec')

function roundTrip(value: unknown): unknown {
  const frame = Buffer.from(encodeFrame(value, 1 << 20))
  assert.is(frame.readUInt32BE(0), frame.length - 4)
  return decodeValue(frame, 4, frame.length)
}

test('every frame kind validates after a round trip', () => {
  const frames = [
    [Kind.SEND, 1, { n: 1, payload: Buffer.alloc(32) }],
    [Kind.NSEND, 'worker', 'job'],
    [Kind.MONITOR, 3, 4],
    [Kind.DEMONITOR, 3, 4],
    [Kind.DOWN, 4, 'normal'],
    [Kind.DOWN, 4, new TypeError('boom')],
    [Kind.LINK, 1, 2],
    [Kind.UNLINK, 1, 2],
    [Kind.EXIT, 1, 2, 'killed'],
    [Kind.KILL, 2, 'because'],
  ]
  for (const frame of frames) assert.equal(asFrame(roundTrip(frame)), frame)
})

test('error reasons keep their name and message', () => {
  const [, , reason] = asFrame(roundTrip([Kind.DOWN, 4, new RangeError('out of range')])) as [number, number, Error]
  assert.instance(reason, Error)
  assert.is(reason.name, 'RangeError')
  assert.is(reason.message, 'out of range')
})

test('unknown kinds and malformed frames are refused', () => {
  const bad = [
    'just a string',
    { kind: 1 },
    [],
    [0, 1, 2],
    [99, 1, 2],
    ['1', 1, 2],
    [Kind.SEND, 1],
    [Kind.SEND, -1, 'x'],
    [Kind.SEND, 0, 'x'],
    [Kind.SEND, 1.5, 'x'],
    [Kind.SEND, 1, 'x', 'extra'],
    [Kind.NSEND, 7, 'x'],
    [Kind.DOWN, 1, { not: 'a reason' }],
    [Kind.EXIT, 1, 2],
  ]
  for (const value of bad) {
    assert.throws(() => asFrame(roundTrip(value)), (error: Error) => error instanceof TransportError, JSON.stringify(value))
  }
})

test('bytes that are not exactly one msgpack value are refused', () => {
  const cases = [Buffer.from([0xa5, 0x61]), Buffer.from([0x93, 0x01]), Buffer.from([0x01, 0x02]), Buffer.alloc(0), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])]
  for (const bytes of cases) {
    assert.throws(() => decodeValue(bytes, 0, bytes.length), (error: Error) => error instanceof TransportError, bytes.toString('hex'))
  }
})

test('a pid extension with bad fields is malformed msgpack', () => {
  const bytes = Buffer.from([0xd4, 0x50, 0x00, 0x92, 0xa1, 0x68, 0x01])
  assert.throws(() => decodeValue(bytes, 0, bytes.length), (error: Error) => error instanceof TransportError)
})

test('encoding refuses a message larger than maxFrameSize', () => {
  assert.throws(() => encodeFrame([Kind.SEND, 1, 'x'.repeat(2000)], 1000), RangeError)
})

test.run()
