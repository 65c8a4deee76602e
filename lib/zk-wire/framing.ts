import { ProtocolError } from './errors.js'

/**
 * Cuts a byte stream into `[int32 length][body]` frames. It only accumulates
 * chunks and cuts: no parsing. A length below zero or above `maxFrameSize`
 * throws {@link ProtocolError} and the decoder must not be fed again.
 * A frame split over many chunks is joined once, when its last byte arrives.
 */
export class FrameDecoder {
  private chunks: Buffer[] = []
  private held = 0
  /** Total bytes (length prefix included) of the frame being assembled, or -1 if unknown. */
  private needed = -1

  constructor(private readonly maxFrameSize: number) {}

  /** Bytes held that do not yet make a whole frame. */
  get buffered(): number {
    return this.held
  }

  /** Feeds a chunk; calls `onFrame` with each complete frame body (a view, not a copy). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.held > 0) {
      this.chunks.push(chunk)
      this.held += chunk.length
      if (this.needed === -1 && this.held >= 4) this.needed = this.frameSize(this.join(), 0)
      if (this.needed === -1 || this.held < this.needed) return
      chunk = this.join()
      this.chunks = []
      this.held = 0
      this.needed = -1
    }
    let pos = 0
    while (chunk.length - pos >= 4) {
      const size = this.frameSize(chunk, pos)
      if (chunk.length - pos < size) {
        this.needed = size
        break
      }
      onFrame(chunk.subarray(pos + 4, pos + size))
      pos += size
    }
    if (pos < chunk.length) {
      this.chunks = [chunk.subarray(pos)]
      this.held = chunk.length - pos
    }
  }

  private join(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.held)]
    return this.chunks[0]!
  }

  private frameSize(buf: Buffer, pos: number): number {
    const len = buf.readInt32BE(pos)
    if (len < 0 || len > this.maxFrameSize) {
      throw new ProtocolError(`frame length ${len} outside 0..${this.maxFrameSize} (maxBufferSize)`)
    }
    return len + 4
  }
}
