import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Cache, MAX_HINTS } from '../../lib/cluster/cache.js'
import { membersOf, WatchedCache } from '../../lib/cluster/discovery.js'
import { Interner } from '../../lib/cluster/interner.js'
import type { WatchedEvent } from '../../lib/zk-wire/index.js'
import { rejection } from '../support/rejection.js'
import { rng } from '../support/rng.js'

const test = suite('cache bookkeeping')

/** A load the test resolves by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: Error) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

test('a loaded value is answered from memory: the loader runs once', async () => {
  const cache = new Cache<string, number>()
  let loads = 0
  const loader = async (): Promise<number> => ++loads
  assert.is(cache.get('a'), undefined)
  assert.is(await cache.load('a', loader), 1)
  assert.is(await cache.load('a', loader), 1)
  assert.is(await cache.get('a'), 1)
  assert.ok(cache.has('a'))
  assert.is(loads, 1)
})

test('concurrent misses on one key share one load', async () => {
  const cache = new Cache<string, string>()
  const load = deferred<string>()
  let loads = 0
  const loader = (): Promise<string> => (loads++, load.promise)
  const answers = Promise.all([cache.load('k', loader), cache.load('k', loader), cache.get('k')])
  assert.not.ok(cache.has('k'), 'not held while loading')
  load.resolve('v')
  assert.equal(await answers, ['v', 'v', 'v'])
  assert.is(loads, 1)
})

test('evict drops exactly that key', async () => {
  const cache = new Cache<string, string>()
  await cache.load('a', async () => 'A')
  await cache.load('b', async () => 'B')
  assert.ok(cache.evict('a'))
  assert.not.ok(cache.evict('a'))
  assert.is(cache.get('a'), undefined)
  assert.is(await cache.get('b'), 'B')
})

test('an eviction during a load: its callers get the result, the cache does not keep it', async () => {
  const cache = new Cache<string, string>()
  const first = deferred<string>()
  const asked = cache.load('k', () => first.promise)
  assert.ok(cache.evict('k'))
  const second = deferred<string>()
  const again = cache.load('k', () => second.promise)
  first.resolve('stale')
  assert.is(await asked, 'stale')
  assert.is(cache.get('k'), again, 'the newer load owns the key')
  second.resolve('fresh')
  assert.is(await again, 'fresh')
  assert.is(await cache.get('k'), 'fresh')
})

test('an eviction during a load that is not followed by another load leaves the key empty', async () => {
  const cache = new Cache<string, string>()
  const load = deferred<string>()
  const asked = cache.load('k', () => load.promise)
  cache.evict('k')
  load.resolve('v')
  assert.is(await asked, 'v')
  assert.is(cache.get('k'), undefined)
})

test('a failed load is not kept: the next call loads again', async () => {
  const cache = new Cache<string, string>()
  const err = await rejection(cache.load('k', async () => { throw new Error('boom') }))
  assert.is(err.message, 'boom')
  assert.is(cache.get('k'), undefined)
  assert.is(await cache.load('k', async () => 'ok'), 'ok')
})

test('a loader that throws synchronously rejects the load', async () => {
  const cache = new Cache<string, string>()
  const err = await rejection(cache.load('k', () => { throw new Error('sync') }))
  assert.is(err.message, 'sync')
  assert.is(cache.get('k'), undefined)
})

test('update changes a held value and disowns a load in flight', async () => {
  const cache = new Cache<string, number[]>()
  await cache.load('held', async () => [1, 2, 3])
  cache.update('held', list => list.filter(n => n !== 2))
  assert.equal(await cache.get('held'), [1, 3])
  const load = deferred<number[]>()
  const asked = cache.load('loading', () => load.promise)
  cache.update('loading', list => list)
  load.resolve([9])
  assert.equal(await asked, [9])
  assert.is(cache.get('loading'), undefined, 'the load may predate the change: not kept')
  cache.update('absent', list => list)
  assert.is(cache.get('absent'), undefined)
})

test('clear drops everything, including loads in flight', async () => {
  const cache = new Cache<string, string>()
  await cache.load('a', async () => 'A')
  const load = deferred<string>()
  void cache.load('b', () => load.promise)
  cache.clear()
  load.resolve('B')
  await load.promise
  assert.is(cache.get('a'), undefined)
  assert.is(cache.get('b'), undefined)
})

test('an evicted value is the next load\'s hint, never an answer', async () => {
  const cache = new Cache<string, string>()
  const hints: Array<string | undefined> = []
  await cache.load('k', async previous => (hints.push(previous), 'A'))
  assert.ok(cache.evict('k'))
  assert.is(cache.get('k'), undefined, 'not answered once evicted')
  assert.not.ok(cache.has('k'))
  assert.is(await cache.load('k', async previous => (hints.push(previous), 'B')), 'B')
  assert.equal(hints, [undefined, 'A'])
  assert.equal(cache.size, { entries: 1, hints: 0 }, 'a hint is used once')
})

test('a load disowned by an eviction leaves no hint; a failed load keeps none either', async () => {
  const cache = new Cache<string, string>()
  const load = deferred<string>()
  void cache.load('k', () => load.promise)
  cache.evict('k')
  load.resolve('from a read that began before the change')
  await load.promise
  let seen: string | undefined = 'unset'
  await cache.load('k', async previous => ((seen = previous), 'fresh'))
  assert.is(seen, undefined)
})

test('hints are bounded: only the most recent evictions are remembered', async () => {
  const cache = new Cache<number, number>()
  const keys = MAX_HINTS + 50
  for (let k = 0; k < keys; k++) await cache.load(k, async () => k)
  for (let k = 0; k < keys; k++) cache.evict(k)
  assert.equal(cache.size, { entries: 0, hints: MAX_HINTS })
  let oldest: number | undefined = -1
  await cache.load(0, async previous => ((oldest = previous), 0))
  assert.is(oldest, undefined, 'the oldest eviction was forgotten')
  let newest: number | undefined
  await cache.load(keys - 1, async previous => ((newest = previous), 0))
  assert.is(newest, keys - 1)
  cache.clear()
  assert.equal(cache.size, { entries: 0, hints: 0 })
})

const quiet = { trace: () => undefined, error: () => undefined }
const changed = (path: string): WatchedEvent => ({ type: 'NodeChildrenChanged', state: 'connected', path })

test('a watched cache hands out one watcher per key until it fires, then forgets it', async () => {
  const cache = new WatchedCache<number>('service', quiet)
  const first = cache.watcher('k')
  assert.is(cache.watcher('k'), first, 'the same function while its watch is set: one watcher per path in the client')
  await cache.entries.load('k', async () => 1)
  first(changed('/s/k'))
  assert.not.ok(cache.entries.has('k'), 'evicted')
  assert.is(cache.watched, 0)
  assert.is.not(cache.watcher('k'), first, 'a new read gets a new watcher')
})

test('a watched cache holds watchers only for keys still watched, however many keys were looked up', async () => {
  const cache = new WatchedCache<number>('service', quiet)
  const watchers = []
  for (let k = 0; k < 1000; k++) {
    const key = `svc${k}`
    watchers.push(cache.watcher(key))
    await cache.entries.load(key, async () => k)
  }
  assert.is(cache.watched, 1000)
  for (const [k, watcher] of watchers.entries()) watcher(changed(`/s/svc${k}`))
  assert.is(cache.watched, 0)
  assert.equal(cache.entries.size, { entries: 0, hints: MAX_HINTS })
})

test('a forgotten watcher that fires late evicts nothing: the newer read has its own watch', async () => {
  const cache = new WatchedCache<string>('global', quiet)
  const old = cache.watcher('g')
  await cache.entries.load('g', async () => 'first')
  cache.evict('g')
  const current = cache.watcher('g')
  await cache.entries.load('g', async () => 'second')
  old(changed('/g'))
  assert.is(await cache.entries.get('g'), 'second', 'kept')
  current(changed('/g'))
  assert.is(cache.entries.get('g'), undefined)
  cache.watcher('x')
  cache.clear()
  assert.is(cache.watched, 0)
})

/** A member as discovery parses one: its key is its znode name. */
const parse = (name: string): { key: string } => {
  if (!name.startsWith('m')) throw new Error('not a member')
  return { key: name }
}

test('membersOf sorts by name, makes each member through the given function, and answers the previous list when nothing changed', () => {
  const made: string[] = []
  const member = (name: string): { key: string } => (made.push(name), parse(name))
  const ignored: string[] = []
  const first = membersOf(['m3', 'm1', 'junk', 'm2'], undefined, member, name => ignored.push(name))
  assert.equal(first.map(m => m.key), ['m1', 'm2', 'm3'])
  assert.equal(ignored, ['junk'])
  assert.ok(Object.isFrozen(first))
  const second = membersOf(['m4', 'm2', 'm0', 'm3'], first, member, () => undefined)
  assert.equal(second.map(m => m.key), ['m0', 'm2', 'm3', 'm4'])
  made.length = 0
  assert.is(membersOf(['m3', 'm0', 'm4', 'm2'], second, member, () => undefined), second, 'nothing changed: the same list')
  assert.equal(made, [], 'and nothing made')
  assert.equal(membersOf([], second, member, () => undefined), [])
  const none = membersOf([], undefined, member, () => undefined)
  assert.is(membersOf([], none, member, () => undefined), none)
})

test('membersOf re-reads by difference: the same members, order and junk reports as a full sort, over random changes', () => {
  // Names 'm<n>' are members whose key is their name; 'x<n>' are not members; 'm0<n>' are
  // members whose key is not their name (m07 -> m7), which only a full sort can order.
  const objects = new Map<string, { key: string }>()
  const member = (name: string): { key: string } => {
    if (!name.startsWith('m')) throw new Error('not a member')
    let m = objects.get(name)
    if (m === undefined) objects.set(name, (m = { key: `m${Number(name.slice(1))}` }))
    return m
  }
  const reference = (children: string[]): string[] => [...children].sort().flatMap(name => (name.startsWith('m') ? [member(name).key] : []))
  const random = rng(20261202)
  const pick = (n: number): number => Math.floor(random() * n)
  for (let run = 0; run < 200; run++) {
    let names = new Set<string>()
    let previous: readonly { key: string }[] | undefined
    const canonicalOnly = run % 2 === 0
    for (let step = 0; step < 30; step++) {
      const size = 1 + pick(60)
      // Mostly a few joins and leaves, sometimes a new list altogether.
      if (random() < 0.2) names = new Set()
      for (const name of [...names]) if (random() < 0.1) names.delete(name)
      while (names.size < size) {
        const roll = random()
        const n = pick(200)
        names.add(roll < 0.05 ? `x${n}` : roll < 0.1 && !canonicalOnly ? `m0${n}` : `m${n}`)
      }
      const children = [...names].sort(() => random() - 0.5)
      const ignored: string[] = []
      const members = membersOf([...children], previous, member, name => ignored.push(name))
      const expected = reference(children)
      assert.equal(members.map(m => m.key), expected, `run ${run} step ${step}`)
      assert.equal(ignored.sort(), children.filter(name => !name.startsWith('m')).sort(), 'each junk name reported once')
      assert.ok(Object.isFrozen(members))
      const interned = new Set(objects.values())
      assert.ok(members.every(m => interned.has(m)), 'the interned objects, not copies')
      if (canonicalOnly && previous !== undefined && previous.map(m => m.key).join() === expected.join()) assert.is(members, previous, 'unchanged: the previous list itself')
      previous = members
    }
  }
})

test('the interner makes one object per name and forgets names no list holds once it has doubled', () => {
  let live: string[] = []
  let parsed = 0
  const interner = new Interner<{ key: string }>(() => live, 4)
  const get = (name: string): { key: string } => interner.get(name, n => (parsed++, { key: n }))
  const a = get('a')
  assert.is(get('a'), a)
  assert.is(parsed, 1)
  live = ['a']
  for (const name of ['b', 'c', 'd']) get(name)
  assert.is(interner.size, 4)
  get('e')
  assert.is(interner.size, 2, 'swept down to what the lists hold (a), plus the new name')
  assert.is(get('a'), a, 'a kept')
  parsed = 0
  get('b')
  assert.is(parsed, 1, 'b was forgotten')
  assert.throws(() => interner.get('bad', () => { throw new Error('not a pid') }), /not a pid/)
  interner.clear()
  assert.is(interner.size, 0)
})

test.run()
