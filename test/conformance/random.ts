import { type CreateMode, type Op, type PersistentWatch, type ZooKeeper, op } from '../../lib/zk-wire/index.js'
import { rng } from '../support/rng.js'
import { type Scenario, scenario } from './harness.js'

/** Few paths, so operations collide: NODEEXISTS, NOTEMPTY, BADVERSION and watches firing all happen. */
const PATHS = ['/a', '/a/b', '/a/c', '/b', '/b/x', '/b/x/y', '/c']
const MODES: CreateMode[] = ['persistent', 'persistent', 'persistent', 'ephemeral', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential']
const VERSIONS = [-1, -1, 0, 1, 2]
const CLIENTS = 3
/** Step kinds, repeated by weight: writes dominate so the tree grows and watches fire. */
const STEPS = [
  ...Array<'create'>(6).fill('create'),
  ...Array<'multi'>(3).fill('multi'),
  ...Array<'setData'>(3).fill('setData'),
  ...Array<'delete'>(2).fill('delete'),
  ...Array<'getData'>(2).fill('getData'),
  ...Array<'exists'>(2).fill('exists'),
  ...Array<'getChildren'>(2).fill('getChildren'),
  'multiRead',
  'count',
  'addWatch',
  'unwatch',
  'checkWatches',
  'sync',
  'reopen',
] as const

/**
 * A random sequence of `steps` operations from three clients over a handful of
 * paths: every kind of read and write, multi and multiRead, one-shot and
 * persistent watches and their removal, and sessions closed and reopened.
 * The sequence depends only on the seed, never on results, so both servers
 * get the same calls.
 */
export function randomScenario(seed: number, steps = 120): Scenario {
  return scenario(`random sequence, seed ${seed}`, async (t) => {
    const next = rng(seed)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!
    const chance = (p: number): boolean => next() < p
    const clients: ZooKeeper[] = []
    const generation = Array<number>(CLIENTS).fill(0)
    const open = async (i: number): Promise<void> => {
      clients[i] = await t.client(`c${i}.${generation[i]}`)
    }
    for (let i = 0; i < CLIENTS; i++) await open(i)
    for (const p of ['/a', '/b']) await t.do(`setup ${p}`, clients[0]!.create(p))
    const watches: Array<{ owner: string; watch: PersistentWatch }> = []
    const data = (): string => `v${Math.floor(next() * 100)}`
    const createOp = (): Op => {
      const mode = pick(MODES)
      return op.create(mode.includes('sequential') ? `${pick(PATHS)}/s-` : pick(PATHS), data(), { mode })
    }
    const writeOp = (): Op => pick([createOp, () => op.delete(pick(PATHS), pick(VERSIONS)), () => op.setData(pick(PATHS), data(), pick(VERSIONS)), () => op.check(pick(PATHS), pick(VERSIONS))])()

    for (let step = 0; step < steps; step++) {
      const i = Math.floor(next() * CLIENTS)
      const zk = clients[i]!
      const who = `${step} c${i}`
      const owner = `c${i}.${generation[i]}`
      const path = pick(PATHS)
      const watch = chance(0.5) ? t.watcher(owner) : undefined
      switch (pick(STEPS)) {
        case 'create': {
          const o = createOp()
          if (o.type === 'create') await t.do(`${who} create ${o.path} ${o.options.mode}`, zk.create(o.path, o.data, o.options))
          break
        }
        case 'delete':
          await t.do(`${who} delete ${path}`, zk.delete(path, pick(VERSIONS)))
          break
        case 'setData':
          await t.do(`${who} setData ${path}`, zk.setData(path, data(), pick(VERSIONS)))
          break
        case 'getData':
          await t.do(`${who} getData ${path}`, zk.getData(path, { watch }))
          break
        case 'exists':
          await t.do(`${who} exists ${path}`, zk.exists(path, { watch }))
          break
        case 'getChildren':
          if (chance(0.5)) await t.do(`${who} getChildren2 ${path}`, zk.getChildren(path, { watch, stat: true }))
          else await t.do(`${who} getChildren ${path}`, zk.getChildren(path, { watch }))
          break
        case 'multi':
          await t.do(`${who} multi`, zk.multi(Array.from({ length: 1 + Math.floor(next() * 4) }, writeOp)))
          break
        case 'multiRead':
          await t.do(`${who} multiRead`, zk.multiRead(Array.from({ length: 1 + Math.floor(next() * 3) }, () => (chance(0.5) ? op.getData(pick(PATHS)) : op.getChildren(pick(PATHS))))))
          break
        case 'count':
          await t.do(`${who} getAllChildrenNumber ${path}`, zk.getAllChildrenNumber(path))
          await t.do(`${who} getEphemerals`, zk.getEphemerals(pick(['/', '/a', '/b/x'])))
          break
        case 'addWatch': {
          const w = await t.watch(`w${step} c${i} ${path}`, zk.addWatch(path, chance(0.5) ? 'persistent' : 'persistentRecursive'))
          if (w) watches.push({ owner, watch: w })
          break
        }
        case 'unwatch':
          if (chance(0.5) && watches.some((w) => w.owner === owner)) {
            const mine = watches.filter((w) => w.owner === owner)
            await t.do(`${who} close a persistent watch`, pick(mine).watch.close())
          } else {
            await t.do(`${who} removeWatches ${path}`, zk.removeWatches(path, pick(['data', 'children', 'any'] as const)))
          }
          break
        case 'checkWatches':
          await t.do(`${who} checkWatches ${path}`, zk.checkWatches(path, pick(['data', 'children', 'any'] as const)))
          break
        case 'sync':
          await t.do(`${who} sync ${path}`, zk.sync(path))
          break
        case 'reopen':
          await zk.close()
          generation[i] = generation[i]! + 1
          await t.settle({ unordered: 'sessionEndOrder' })
          await open(i)
          t.note(`${who} reopened`, 'ok')
          break
      }
      if (step % 5 === 4) await t.settle()
    }
  })
}
