import type { LossReason } from './tenure.js'
import type { Tenure } from './tenure.js'

/**
 * What a leader knows about its leadership. Hand `token` to the resources the
 * leader writes to and have them refuse any token lower than the highest they
 * have seen: a deposed leader's late writes are then refused.
 */
export interface Term {
  /** The candidate znode that leads. */
  readonly path: string
  /** Fencing token: the zxid that created the candidate znode (larger for every later leader). */
  readonly token: bigint
  /** Fires when this leadership ends for any reason other than a normal stop (reason: a `RecipeError` `'LOST'`). */
  readonly signal: AbortSignal
  /** When it was granted (ms since the epoch, on the recipe's clock). */
  readonly since: number
}

/**
 * Why a leadership ended: a {@link LossReason}, `'relinquished'` (the leader
 * gave it up and stood again), or `'stopped'` (the recipe was closed, or the
 * leader function returned).
 */
export type LeadershipEnd = LossReason | 'relinquished' | 'stopped'

/** A member of an election, as `participants()` reports it. */
export interface Participant {
  /** The id it stood with (its znode's data). */
  readonly id: string
  /** Its candidate znode. */
  readonly path: string
  /** Whether it leads (comes first). */
  readonly isLeader: boolean
}

/** @internal */
export class TermImpl implements Term {
  constructor(
    readonly path: string,
    readonly token: bigint,
    readonly since: number,
    readonly tenure: Tenure,
  ) {}

  get signal(): AbortSignal {
    return this.tenure.signal
  }
}
