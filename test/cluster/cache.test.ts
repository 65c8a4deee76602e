import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Cache } from '../../lib/cluster/cache.js'
import { rejection } from '../support/rejection.js'

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

test.run()
