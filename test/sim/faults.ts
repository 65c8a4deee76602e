import type { Random } from './scheduler.js'

/**
 * One fault of a run's schedule. `target` is a client index (cut, stall,
 * loseReply, expire) or a server index (partition, crash, slow); `ms` is how
 * long it lasts (stall, partition, crash, slow). `at` is ms after the start.
 */
export interface Fault {
  at: number
  kind: 'cut' | 'stall' | 'loseReply' | 'expire' | 'partition' | 'crash' | 'slow'
  target: number
  ms?: number
}

export interface FaultPlan {
  clients: number
  servers: number
  sessionTimeout: number
  durationMs: number
}

/**
 * Draws a fault schedule: a few faults of every kind at random times in the
 * busy part of the run, stalls both shorter and longer than the read timeout
 * (two thirds of the session timeout), partitions both shorter and longer
 * than syncLimit × tickTime. The last fifth of the run is quiet.
 */
export function drawFaults(rand: Random, plan: FaultPlan): Fault[] {
  const count = Math.floor(rand() * 9)
  const faults: Fault[] = []
  const readTimeout = (plan.sessionTimeout * 2) / 3
  const pick = (n: number): number => Math.floor(rand() * n)
  for (let i = 0; i < count; i++) {
    const at = Math.round(1000 + rand() * (plan.durationMs * 0.8 - 1000))
    const r = rand()
    if (r < 0.2) faults.push({ at, kind: 'cut', target: pick(plan.clients) })
    else if (r < 0.38) faults.push({ at, kind: 'stall', target: pick(plan.clients), ms: Math.round(rand() < 0.5 ? readTimeout * (0.2 + rand() * 0.6) : readTimeout * (1.1 + rand() * 2)) })
    else if (r < 0.5) faults.push({ at, kind: 'loseReply', target: pick(plan.clients) })
    else if (r < 0.58) faults.push({ at, kind: 'expire', target: pick(plan.clients) })
    else if (r < 0.74) faults.push({ at, kind: 'partition', target: pick(plan.servers), ms: Math.round(500 + rand() * plan.sessionTimeout * 2) })
    else if (r < 0.88) faults.push({ at, kind: 'crash', target: pick(plan.servers), ms: Math.round(200 + rand() * 5000) })
    else faults.push({ at, kind: 'slow', target: pick(plan.servers), ms: Math.round(500 + rand() * 5000) })
  }
  return faults.sort((a, b) => a.at - b.at)
}

/** A fault as one line, for reproductions. */
export function describeFault(f: Fault): string {
  return `${f.kind}(${f.target}${f.ms === undefined ? '' : `, ${f.ms} ms`}) at ${f.at} ms`
}
