import { TransportError } from '../errors.js'

/** Bytes of the length prefix in front of every frame. */
export const HEADER_SIZE = 4

/**
 * Called with each complete frame body, `buffer[start, end)`. The bytes stay
 * valid and unchanged afterwards (they are never reused), so decoded values may
 * keep views into them. Return `false` to stop cutting frames from the current
 * chunk (the connection is closing).
 */
export type FrameHandler = (buffer: Buffer, start: number, end: number) => boolean | void

/**
 * Cuts a byte stream into `[u32 length][body]` frames. Complete frames are
 * handed out as ranges of the chunk they arrived in; only a frame split across
 * chunks is copied, once, into a buffer of its exact size.
 */
export class FrameDecoder {
  /** The largest body accepted; may be raised once the peer is trusted. */
  maxFrameSize: number
  /** A length prefix split across chunks; made on first need (most connections never split one). */
  #header: Buffer | null = null
  #headerFilled = 0
  #body: Buffer | null = null
  #bodyFilled = 0

  constructor(maxFrameSize: number) {
    this.maxFrameSize = maxFrameSize
  }

  /** Whether bytes of an unfinished frame are held. */
  get pending(): boolean {
    return this.#headerFilled > 0 || this.#body !== null
  }

  /**
   * Feeds one chunk, calling `onFrame` for every frame it completes.
   * @throws TransportError when a frame announces more than `maxFrameSize` bytes
   */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    let at = 0
    const length = chunk.length
    if (this.pending) {
      at = this.#continue(chunk, onFrame)
      if (at < 0) return
    }
    while (length - at >= HEADER_SIZE) {
      const size = chunk.readUInt32BE(at)
      this.#checkSize(size)
      const start = at + HEADER_SIZE
      const end = start + size
      if (end > length) break
      at = end
      if (onFrame(chunk, start, end) === false) return
    }
    if (at < length) this.#keep(chunk, at)
  }

  /** Finishes a frame begun in an earlier chunk; returns where the rest of `chunk` starts, or -1 to stop. */
  #continue(chunk: Buffer, onFrame: FrameHandler): number {
    let at = 0
    if (this.#body === null) {
      const header = (this.#header ??= Buffer.alloc(HEADER_SIZE))
      const wanted = HEADER_SIZE - this.#headerFilled
      const copied = chunk.copy(header, this.#headerFilled, 0, Math.min(wanted, chunk.length))
      this.#headerFilled += copied
      at = copied
      if (this.#headerFilled < HEADER_SIZE) return -1
      const size = header.readUInt32BE(0)
      this.#checkSize(size)
      this.#headerFilled = 0
      this.#body = Buffer.allocUnsafe(size)
      this.#bodyFilled = 0
    }
    const body = this.#body
    const copied = chunk.copy(body, this.#bodyFilled, at, Math.min(chunk.length, at + body.length - this.#bodyFilled))
    this.#bodyFilled += copied
    at += copied
    if (this.#bodyFilled < body.length) return -1
    this.#body = null
    return onFrame(body, 0, body.length) === false ? -1 : at
  }

  #keep(chunk: Buffer, at: number): void {
    const rest = chunk.length - at
    if (rest < HEADER_SIZE) {
      this.#headerFilled = chunk.copy((this.#header ??= Buffer.alloc(HEADER_SIZE)), 0, at)
      return
    }
    const size = chunk.readUInt32BE(at)
    this.#body = Buffer.allocUnsafe(size)
    this.#bodyFilled = chunk.copy(this.#body, 0, at + HEADER_SIZE)
  }

  #checkSize(size: number): void {
    if (size > this.maxFrameSize) {
      throw new TransportError(`frame of ${size} bytes exceeds the limit of ${this.maxFrameSize}`)
    }
  }
}
