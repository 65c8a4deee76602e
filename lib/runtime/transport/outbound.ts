const ARENA_SIZE = 256 * 1024

/**
 * Frames waiting to be written to one peer, coalesced into few large buffers.
 * Appending copies the frame (encoders hand out scratch views); taking hands
 * the bytes over for good, so a socket may hold them while later frames are
 * appended after them.
 */
export class OutboundBuffer {
  #arena: Buffer = Buffer.allocUnsafe(0)
  #start = 0
  #end = 0
  #full: Buffer[] = []
  #fullBytes = 0

  /** Bytes waiting. */
  get length(): number {
    return this.#fullBytes + this.#end - this.#start
  }

  append(frame: Buffer): void {
    if (this.#arena.length - this.#end < frame.length) this.#grow(frame.length)
    this.#end += frame.copy(this.#arena, this.#end)
  }

  /** Removes and returns everything waiting, oldest first. */
  take(): Buffer[] {
    const taken = this.#full
    if (this.#end > this.#start) taken.push(this.#arena.subarray(this.#start, this.#end))
    this.#start = this.#end
    this.#full = []
    this.#fullBytes = 0
    return taken
  }

  /** Drops everything waiting. */
  clear(): void {
    this.#full = []
    this.#fullBytes = 0
    this.#start = this.#end
  }

  #grow(needed: number): void {
    if (this.#end > this.#start) {
      this.#full.push(this.#arena.subarray(this.#start, this.#end))
      this.#fullBytes += this.#end - this.#start
    }
    this.#arena = Buffer.allocUnsafe(Math.max(ARENA_SIZE, needed))
    this.#start = 0
    this.#end = 0
  }
}
