import { NullStringError, ProtocolError } from './errors.js'

const INITIAL_SIZE = 16 * 1024

/**
 * Appends jute-encoded values to a growable buffer. Frames can be written
 * back to back (`beginFrame`/`endFrame` back-patch the 4-byte length) so many
 * requests leave in one socket write.
 */
export class JuteWriter {
  private buf: Buffer
  private pos = 0

  constructor(size = INITIAL_SIZE) {
    this.buf = Buffer.allocUnsafe(size)
  }

  get length(): number {
    return this.pos
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  int(v: number): this {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
    return this
  }

  long(v: bigint): this {
    this.ensure(8)
    this.buf.writeBigInt64BE(v, this.pos)
    this.pos += 8
    return this
  }

  bool(v: boolean): this {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
    return this
  }

  /** A length-prefixed byte string; `null` is written as length -1, distinct from empty. */
  buffer(v: Uint8Array | null): this {
    if (v === null) return this.int(-1)
    this.ensure(4 + v.length)
    this.buf.writeInt32BE(v.length, this.pos)
    this.buf.set(v, this.pos + 4)
    this.pos += 4 + v.length
    return this
  }

  /** A length-prefixed UTF-8 string; `null` is written as length -1, distinct from `''`. */
  string(v: string | null): this {
    if (v === null) return this.int(-1)
    const max = v.length * 3
    this.ensure(4 + max)
    const n = this.buf.write(v, this.pos + 4, 'utf8')
    this.buf.writeInt32BE(n, this.pos)
    this.pos += 4 + n
    return this
  }

  /** A vector: its length, then each item written by `each`; `null` is length -1. */
  vector<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int(-1)
    this.int(items.length)
    for (const item of items) each(this, item)
    return this
  }

  /** Reserves a 4-byte length prefix; returns the mark to pass to {@link endFrame}. */
  beginFrame(): number {
    const mark = this.pos
    this.int(0)
    return mark
  }

  /** Back-patches the length of the frame begun at `mark`. */
  endFrame(mark: number): void {
    this.buf.writeInt32BE(this.pos - mark - 4, mark)
  }

  /** Drops everything written after `mark` (used when encoding a frame fails half-way). */
  rewind(mark: number): void {
    this.pos = mark
  }

  /** Takes the bytes written so far and empties the writer. Small outputs are copied; large ones hand over the buffer. */
  take(): Buffer {
    if (this.pos < 4096) {
      const out = Buffer.from(this.buf.subarray(0, this.pos))
      this.pos = 0
      return out
    }
    const out = this.buf.subarray(0, this.pos)
    this.buf = Buffer.allocUnsafe(INITIAL_SIZE)
    this.pos = 0
    return out
  }
}

/**
 * Reads jute-encoded values from a buffer with bounds checks: anything that
 * runs past the end or carries an impossible length throws {@link ProtocolError}.
 * Byte strings are returned as views into the input, not copies.
 */
export class JuteReader {
  private pos: number

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start
  }

  get remaining(): number {
    return this.end - this.pos
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new ProtocolError(`truncated ${what}: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`)
    }
  }

  int(): number {
    this.need(4, 'int')
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  long(): bigint {
    this.need(8, 'long')
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }

  bool(): boolean {
    this.need(1, 'boolean')
    const b = this.buf[this.pos++]!
    if (b > 1) throw new ProtocolError(`invalid boolean byte ${b} at offset ${this.pos - 1}`)
    return b === 1
  }

  private length(what: string): number {
    const n = this.int()
    if (n < -1) throw new ProtocolError(`negative ${what} length ${n}`)
    if (n > this.end - this.pos) throw new ProtocolError(`${what} length ${n} exceeds the ${this.end - this.pos} bytes left`)
    return n
  }

  buffer(): Buffer | null {
    const n = this.length('buffer')
    if (n === -1) return null
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  string(): string | null {
    const n = this.length('string')
    if (n === -1) return null
    const v = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** A string that must be present (a `null` here is a protocol violation). */
  ustring(): string {
    const v = this.string()
    if (v === null) throw new NullStringError(`unexpected null string at offset ${this.pos - 4}`)
    return v
  }

  /** A vector of items read by `each`; a `null` vector reads as `[]`. Each item takes at least one byte. */
  vector<T>(each: (r: this) => T, minItemSize = 1): T[] {
    const n = this.int()
    if (n === -1) return []
    if (n < -1 || n * minItemSize > this.end - this.pos) {
      throw new ProtocolError(`vector length ${n} impossible with ${this.end - this.pos} bytes left`)
    }
    const out = new Array<T>(n)
    for (let i = 0; i < n; i++) out[i] = each(this)
    return out
  }
}
