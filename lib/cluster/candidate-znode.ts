import type { ACL, Stat, ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Env } from '../env.js'
import type { Log } from './log.js'
import { parseCandidate } from './paths.js'
import { ensurePath, isZk } from './znodes.js'

/** A candidate znode this node created. */
export interface CandidateZnode {
  readonly path: string
  readonly child: string
  readonly seq: number
  readonly czxid: bigint
  readonly sessionId: bigint
}

/** The parts of the client {@link createCandidate} uses (a test can make one lose replies). */
export type CandidateClient = Pick<ZooKeeper, 'create2' | 'getChildren' | 'exists' | 'sync' | 'sessionId' | 'create'>

function toZnode(path: string, stat: Stat, sessionId: bigint): CandidateZnode {
  const child = path.slice(path.lastIndexOf('/') + 1)
  const candidate = parseCandidate(child)
  if (candidate === null) throw new Error(`ZooKeeper created an unexpected candidate name ${path}`)
  return { path, child, seq: candidate.seq, czxid: stat.czxid, sessionId }
}

/**
 * Creates an ephemeral sequential candidate `<guid>-n_<seq>` in `dir`,
 * protected against lost replies: when the create fails with CONNECTIONLOSS
 * it may have been applied, so the candidates are searched (after a `sync`,
 * so the server has seen everything the old one did) for the guid before
 * anything is created again. Never two znodes for one call. The guid comes
 * from `env` (the simulator's is seeded).
 */
export async function createCandidate(zk: CandidateClient, dir: string, data: Buffer, acl: readonly ACL[], log: Log, env: Env = realEnv): Promise<CandidateZnode> {
  const guid = env.randomBytes(16).toString('hex')
  for (;;) {
    try {
      const { path, stat } = await zk.create2(`${dir}/${guid}-n_`, data, { acl, mode: 'ephemeral_sequential' })
      return toZnode(path, stat, zk.sessionId)
    } catch (error) {
      if (isZk(error, 'NONODE')) {
        await ensurePath(zk, dir, acl, 'container')
        continue
      }
      if (!isZk(error, 'CONNECTIONLOSS')) throw error
    }
    log.trace(`election ${dir}: a create lost its reply; looking for ${guid}`)
    const found = await findCandidate(zk, dir, guid)
    if (found !== null) {
      log.trace(`election ${dir}: found ${found.child} again`)
      return found
    }
  }
}

async function findCandidate(zk: CandidateClient, dir: string, guid: string): Promise<CandidateZnode | null> {
  for (;;) {
    try {
      await zk.sync(dir)
      const child = (await zk.getChildren(dir)).find(name => parseCandidate(name)?.guid === guid)
      if (child === undefined) return null
      const stat = await zk.exists(`${dir}/${child}`)
      if (stat === null || stat.ephemeralOwner !== zk.sessionId) return null
      return toZnode(`${dir}/${child}`, stat, zk.sessionId)
    } catch (error) {
      if (isZk(error, 'NONODE')) return null
      if (!isZk(error, 'CONNECTIONLOSS')) throw error
    }
  }
}

