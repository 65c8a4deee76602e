/** What {@link Mailbox.take} returns when no message matches. */
export const NOTHING: unique symbol = Symbol('nothing')

/** Decides whether a message is the one a selective receive waits for. */
export type Matcher = (message: unknown) => boolean

const COMPACT_AT = 1024

/**
 * A process's queue of messages in arrival order. Taking the first message is
 * O(1); a selective take removes the first match and leaves the others where
 * they were.
 */
export class Mailbox {
  #items: unknown[] = []
  #head = 0

  /** Messages waiting. */
  get size(): number {
    return this.#items.length - this.#head
  }

  push(message: unknown): void {
    this.#items.push(message)
  }

  /**
   * Removes and returns the first message `match` accepts (the first message
   * when there is no `match`), or {@link NOTHING}. A throwing `match` leaves
   * the mailbox unchanged and the error propagates.
   */
  take(match?: Matcher): unknown {
    const items = this.#items
    const head = this.#head
    if (head === items.length) return NOTHING
    if (match === undefined || match(items[head])) return this.#shift()
    for (let i = head + 1; i < items.length; i++) {
      const message = items[i]
      if (match(message)) {
        items.splice(i, 1)
        return message
      }
    }
    return NOTHING
  }

  /** Removes every message `match` accepts; returns how many. */
  discard(match: Matcher): number {
    const kept = this.#items.slice(this.#head).filter(message => !match(message))
    const removed = this.size - kept.length
    this.#items = kept
    this.#head = 0
    return removed
  }

  /** Empties the mailbox. */
  clear(): void {
    this.#items = []
    this.#head = 0
  }

  #shift(): unknown {
    const items = this.#items
    const message = items[this.#head]
    items[this.#head++] = undefined
    if (this.#head === items.length) {
      items.length = 0
      this.#head = 0
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= items.length) {
      items.splice(0, this.#head)
      this.#head = 0
    }
    return message
  }
}
