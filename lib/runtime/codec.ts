import { addExtension, Packr, RESERVE_START_SPACE, RESET_BUFFER_MODE, Unpackr } from 'msgpackr/pack'
import { TransportError } from './errors.js'
import { NodeId, ProcessId } from './ids.js'
import type { ExitReason } from './signals.js'

/** msgpack extension type of a {@link NodeId} inside a message. */
export const NODE_ID_EXTENSION = 0x4e
/** msgpack extension type of a {@link ProcessId} inside a message. */
export const PROCESS_ID_EXTENSION = 0x50

addExtension({
  Class: NodeId,
  type: NODE_ID_EXTENSION,
  write: (node: NodeId) => [node.host, node.port, node.incarnation],
  read: (fields: unknown[]) => new NodeId(fields[0] as string, fields[1] as number, fields[2] as number),
})
addExtension({
  Class: ProcessId,
  type: PROCESS_ID_EXTENSION,
  write: (pid: ProcessId) => [pid.node.host, pid.node.port, pid.node.incarnation, pid.id],
  read: (fields: unknown[]) =>
    new ProcessId(new NodeId(fields[0] as string, fields[1] as number, fields[2] as number), fields[3] as number),
})

// Plain maps rather than records: every frame decodes on its own, whatever was
// lost or reordered before it. moreTypes lets Error, Set, RegExp and typed
// arrays round-trip.
const packr = new Packr({ useRecords: false, moreTypes: true })
const unpackr = new Unpackr({ useRecords: false, moreTypes: true, mapsAsObjects: true })
const HEADER = 4
const ENCODE_MODE = RESERVE_START_SPACE | HEADER | RESET_BUFFER_MODE
const range = { start: 0, end: 0 }

/** Message kinds after the handshake; the first element of every frame. */
export const Kind = {
  SEND: 1,
  NSEND: 2,
  MONITOR: 3,
  DEMONITOR: 4,
  DOWN: 5,
  LINK: 6,
  UNLINK: 7,
  EXIT: 8,
  KILL: 9,
} as const
/** A message kind. */
export type Kind = (typeof Kind)[keyof typeof Kind]

/**
 * One node-to-node message. Process numbers are local to the node they name:
 * `to`/`target` on the receiver, `from` on the sender, `ref` on the node that
 * made the monitor.
 */
export type Frame =
  | readonly [kind: typeof Kind.SEND, to: number, message: unknown]
  | readonly [kind: typeof Kind.NSEND, name: string, message: unknown]
  | readonly [kind: typeof Kind.MONITOR, target: number, ref: number]
  | readonly [kind: typeof Kind.DEMONITOR, target: number, ref: number]
  | readonly [kind: typeof Kind.DOWN, ref: number, reason: ExitReason]
  | readonly [kind: typeof Kind.LINK, from: number, to: number]
  | readonly [kind: typeof Kind.UNLINK, from: number, to: number]
  | readonly [kind: typeof Kind.EXIT, from: number, to: number, reason: ExitReason]
  | readonly [kind: typeof Kind.KILL, to: number, reason: ExitReason]

/**
 * Encodes `value` as one `[u32 length][msgpack]` frame. The result is a view
 * into msgpackr's scratch buffer: copy it before the next call.
 * @throws RangeError if the body exceeds `maxFrameSize`
 */
export function encodeFrame(value: unknown, maxFrameSize: number): Buffer {
  const frame = packr.pack(value, ENCODE_MODE)
  const size = frame.length - HEADER
  if (size > maxFrameSize) throw new RangeError(`message of ${size} bytes exceeds maxFrameSize ${maxFrameSize}`)
  frame.writeUInt32BE(size, 0)
  return frame
}

/**
 * Decodes the msgpack value in `buffer[start, end)`, which must hold exactly one value.
 * @throws TransportError if it does not
 */
export function decodeValue(buffer: Buffer, start: number, end: number): unknown {
  range.start = start
  range.end = end
  try {
    return unpackr.unpack(buffer, range)
  } catch (error) {
    throw new TransportError(`malformed msgpack frame: ${(error as Error).message}`, { cause: error })
  }
}

/**
 * Checks that a decoded value is a well-formed {@link Frame}.
 * @throws TransportError naming what is wrong
 */
export function asFrame(value: unknown): Frame {
  if (!Array.isArray(value)) throw new TransportError('frame is not an array')
  switch (value[0]) {
    case Kind.SEND:
      return check(value, 3, isNumber(value[1]))
    case Kind.NSEND:
      return check(value, 3, typeof value[1] === 'string')
    case Kind.MONITOR:
    case Kind.DEMONITOR:
    case Kind.LINK:
    case Kind.UNLINK:
      return check(value, 3, isNumber(value[1]) && isNumber(value[2]))
    case Kind.DOWN:
    case Kind.KILL:
      return check(value, 3, isNumber(value[1]) && isReason(value[2]))
    case Kind.EXIT:
      return check(value, 4, isNumber(value[1]) && isNumber(value[2]) && isReason(value[3]))
    default:
      throw new TransportError(`unknown message kind ${JSON.stringify(value[0]) ?? typeof value[0]}`)
  }
}

function check(value: unknown[], length: number, fieldsOk: boolean): Frame {
  if (value.length !== length || !fieldsOk) throw new TransportError(`malformed frame of kind ${value[0]}`)
  return value as unknown as Frame
}

/** Process numbers and monitor refs count from 1. */
function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
}

function isReason(value: unknown): value is ExitReason {
  return typeof value === 'string' || value instanceof Error
}
