import type { ACL } from '../zk-wire/index.js'
import type { Env } from '../env.js'
import type { Node, ProcessId } from '../runtime/index.js'
import { Candidacy, type CandidacyContext } from './candidacy.js'
import { readGlobal } from './discovery.js'
import { Lease } from './lease.js'
import type { GlobalFunction, Leadership, StepDownReason } from './leadership.js'
import type { Log } from './log.js'
import { validateName, type Layout } from './paths.js'
import type { Session } from './session.js'

export { createCandidate, type CandidateClient, type CandidateZnode } from './candidate-znode.js'
export type { GlobalFunction, Leadership, StepDownReason } from './leadership.js'

/** What {@link Elections} reports to the cluster. */
export interface ElectionEvents {
  elected(leadership: Leadership): void
  steppedDown(leadership: Leadership, reason: StepDownReason): void
}

/** Options of {@link Elections}. */
export interface ElectionOptions {
  readonly node: Node
  readonly session: Session
  readonly layout: Layout
  readonly acl: readonly ACL[]
  readonly log: Log
  readonly tickTime: number
  readonly stepDownMargin: number | undefined
  readonly stepDownOnDisconnect: boolean
  readonly events: ElectionEvents
  /** Time, timers and randomness of the lease and the candidacies; default `realEnv`. */
  readonly env?: Env
}

/**
 * This node's candidacies, one per global name, and the lease that guards
 * the ones leading.
 */
export class Elections {
  readonly #candidacies = new Map<string, Candidacy>()
  readonly #lease: Lease
  readonly #context: CandidacyContext

  constructor(private readonly options: ElectionOptions) {
    const { node, session, layout, acl, log, events } = options
    this.#lease = new Lease({
      client: () => session.zk,
      tickTime: options.tickTime,
      stepDownMargin: options.stepDownMargin,
      onExpire: () => this.#stepDownAll('suspect'),
      connectedSince: () => session.connectionStart,
      ...(options.env && { clock: options.env }),
    })
    this.#context = {
      node,
      session,
      layout,
      acl,
      log,
      lease: this.#lease,
      ...(options.env && { env: options.env }),
      leaseRanOut: () => this.#stepDownAll('suspect'),
      elected: leadership => {
        this.#lease.arm()
        events.elected(leadership)
      },
      steppedDown: (leadership, reason) => {
        if (![...this.#candidacies.values()].some(c => c.state === 'leading')) this.#lease.disarm()
        log.trace(`election ${leadership.name}: stepped down (${reason})`)
        events.steppedDown(leadership, reason)
      },
      withdrawn: candidacy => {
        if (this.#candidacies.get(candidacy.name) === candidacy) this.#candidacies.delete(candidacy.name)
        if (this.#candidacies.size === 0) this.#lease.need(false)
      },
      // Syncs every interval only while some candidacy may lead soon: N candidates for one name cost O(1).
      transitioned: () => this.#lease.pace([...this.#candidacies.values()].some(c => c.mayLeadSoon)),
    }
  }

  /**
   * Stands for the global `name` with `fn` (replacing the function of a
   * candidacy this node already has for it: no second znode, no new process).
   * Resolves, once in the queue, to the pid of the current holder.
   */
  async registerCandidate(name: string, fn: GlobalFunction): Promise<ProcessId> {
    validateName('global name', name)
    if (typeof fn !== 'function') throw new TypeError('registerCandidate needs a function to run as the global process')
    let candidacy = this.#candidacies.get(name)
    if (candidacy === undefined) {
      const terms = this.#lease.terms()
      if (typeof terms === 'string') throw new Error(`cannot stand for ${JSON.stringify(name)}: ${terms}`)
      candidacy = new Candidacy(name, fn, this.#context)
      this.#candidacies.set(name, candidacy)
      // The first sync goes out before the candidacy's first request, so its evidence is in before the election's reads.
      this.#lease.need(true)
      candidacy.kick()
    } else {
      candidacy.fn = fn
    }
    await candidacy.placed
    if (candidacy.state === 'leading') return candidacy.pid
    const holder = await this.options.session.read(zk => readGlobal(zk, this.options.layout, name))
    return holder ?? candidacy.pid
  }

  /** The leadership this node holds for `name`, or null. */
  leadership(name: string): Leadership | null {
    return this.#candidacies.get(name)?.leadership ?? null
  }

  /** The session expired: leaders step down at once (if the lease has not already run out). */
  sessionExpired(): void {
    this.#stepDownAll('expired')
  }

  /** A session is usable again (reconnected or renewed): every candidacy checks where it stands. */
  sessionBack(): void {
    for (const candidacy of this.#candidacies.values()) candidacy.kick()
  }

  /** The client lost its connection: with `stepDownOnDisconnect`, leaders step down now. */
  disconnected(): void {
    if (this.options.stepDownOnDisconnect) this.#stepDownAll('disconnect')
  }

  /** The cluster is stopping: kills every global and staged process; the closing session removes the znodes. */
  stop(): void {
    this.#lease.stop()
    for (const candidacy of [...this.#candidacies.values()]) candidacy.withdraw('stop')
    this.#candidacies.clear()
  }

  #stepDownAll(reason: StepDownReason): void {
    for (const candidacy of [...this.#candidacies.values()]) candidacy.stepDown(reason)
  }
}
