/** Bounds on inbound connections that have not authenticated yet. */
export interface AdmissionLimits {
  /** In all. */
  readonly total: number
  /** From one IP address. */
  readonly perAddress: number
}

interface Entry {
  readonly address: string
  /** The turn it was admitted in: it is `fresh` until a later turn (it has not been read yet). */
  readonly turn: number
  /** It sent a well-formed hello. */
  greeted: boolean
}

/**
 * Which unauthenticated inbound connections to keep when there are too many
 * (pure bookkeeping; the transport closes the ones it is told to shed).
 *
 * Connections are admitted as they are accepted and checked once per turn of
 * the event loop, after the accepts of that turn (`shed`). Over a limit, the
 * oldest go first, in this order: connections that have had a turn to say
 * hello and did not (silent or slowloris sockets); then, only while more
 * greeted connections than a limit allows remain, the oldest greeted ones.
 * Connections admitted in the current turn are kept for one turn, because a
 * dialer's hello, already in the kernel's buffer, has not been read yet: a
 * peer that says hello at once is never shed in favour of silent sockets, from
 * its own address or any other, however fast they arrive.
 */
export class Admission<T> {
  readonly limits: AdmissionLimits
  readonly #entries = new Map<T, Entry>()
  readonly #perAddress = new Map<string, number>()
  #turn = 0

  constructor(limits: AdmissionLimits) {
    this.limits = limits
  }

  /** Connections being tracked. */
  get size(): number {
    return this.#entries.size
  }

  /** Tracks a new connection; returns whether a limit is now exceeded (call `shed` after this turn's accepts). */
  admit(item: T, address: string): boolean {
    this.#entries.set(item, { address, turn: this.#turn, greeted: false })
    const count = (this.#perAddress.get(address) ?? 0) + 1
    this.#perAddress.set(address, count)
    return this.#entries.size > this.limits.total || count > this.limits.perAddress
  }

  /** The connection sent a well-formed hello. */
  greeted(item: T): void {
    const entry = this.#entries.get(item)
    if (entry !== undefined) entry.greeted = true
  }

  /** Stops tracking a connection (it authenticated or closed). */
  release(item: T): void {
    const entry = this.#entries.get(item)
    if (entry === undefined) return
    this.#entries.delete(item)
    const count = (this.#perAddress.get(entry.address) ?? 1) - 1
    if (count === 0) this.#perAddress.delete(entry.address)
    else this.#perAddress.set(entry.address, count)
  }

  /**
   * Ends the turn: stops tracking, and returns, the connections to close now,
   * oldest first; `again` says whether fresh connections still exceed a limit,
   * so another check is due next turn.
   */
  shed(): { victims: T[]; again: boolean } {
    const turn = this.#turn++
    const victims = new Set<T>()
    for (const [address, count] of this.#perAddress) {
      if (count > this.limits.perAddress) this.#shedFrom(address, this.limits.perAddress, turn, victims)
    }
    if (this.#entries.size - victims.size > this.limits.total) this.#shedFrom(null, this.limits.total, turn, victims)
    for (const victim of victims) this.release(victim)
    return { victims: [...victims], again: this.#over() }
  }

  /** Adds victims among the connections from `address` (all with null) until at most `limit` remain. */
  #shedFrom(address: string | null, limit: number, turn: number, victims: Set<T>): void {
    const group: [T, Entry][] = []
    for (const item of this.#entries) {
      if ((address === null || item[1].address === address) && !victims.has(item[0])) group.push(item)
    }
    let excess = group.length - limit
    for (const [item, entry] of group) {
      if (excess <= 0) break
      if (!entry.greeted && entry.turn < turn) {
        victims.add(item)
        excess--
      }
    }
    let greeted = group.filter(([, entry]) => entry.greeted).length
    for (const [item, entry] of group) {
      if (greeted <= limit) break
      if (entry.greeted) {
        victims.add(item)
        greeted--
      }
    }
  }

  #over(): boolean {
    if (this.#entries.size > this.limits.total) return true
    for (const count of this.#perAddress.values()) if (count > this.limits.perAddress) return true
    return false
  }
}
