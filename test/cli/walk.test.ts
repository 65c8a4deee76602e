import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Code, ZkError } from '../../lib/zk-wire/index.js'
import { type Visited, walk } from '../../lib/cli/walk.js'

/** A tree as a map from path to children; the read fails with NONODE/NOAUTH for the paths named. */
function fakeTree(children: Record<string, string[]>, failing: Record<string, 'NONODE' | 'NOAUTH'> = {}) {
  const reads: string[] = []
  const read = async (path: string): Promise<Visited> => {
    reads.push(path)
    const why = failing[path]
    if (why !== undefined) throw new ZkError(Code[why], { op: 'getChildren', path })
    const c = children[path]
    if (c === undefined) throw new ZkError(Code.NONODE, { op: 'getChildren', path })
    return { children: c }
  }
  return { read, reads }
}

const steps = async (root: string, read: (p: string) => Promise<Visited>, exits = false): Promise<string[]> => {
  const seen: string[] = []
  for await (const s of walk(root, read, { exits, window: 4 })) seen.push(s.kind === 'enter' ? `${s.path}${s.last ? '$' : ''}${s.problem ? `!${s.problem}` : ''}` : `<${s.path}`)
  return seen
}

test('pre-order, children sorted, the last of each family marked', async () => {
  const { read } = fakeTree({ '/': ['b', 'a'], '/a': ['y', 'x'], '/a/x': [], '/a/y': [], '/b': [] })
  assert.equal(await steps('/', read), ['/$', '/a', '/a/x', '/a/y$', '/b$'])
})

test('exit steps come children first, with the paths of the nodes left', async () => {
  const { read } = fakeTree({ '/r': ['a', 'b'], '/r/a': ['x'], '/r/a/x': [], '/r/b': [] })
  assert.equal(await steps('/r', read, true), ['/r$', '/r/a', '/r/a/x$', '</r/a/x', '</r/a', '/r/b$', '</r/b', '</r'])
})

test('a node that vanished or may not be read is reported and skipped; the walk goes on', async () => {
  const { read } = fakeTree({ '/r': ['a', 'b', 'c'], '/r/c': [] }, { '/r/b': 'NOAUTH' })
  assert.equal(await steps('/r', read), ['/r$', '/r/a!NONODE', '/r/b!NOAUTH', '/r/c$'])
})

test('the root must be readable: its error is thrown', async () => {
  const { read } = fakeTree({})
  await steps('/gone', read).then(
    () => assert.unreachable(),
    (err: ZkError) => assert.is(err.name, 'NONODE'),
  )
})

test('a 10,000-deep path: no recursion, and exit paths are slices of the deepest one', async () => {
  const depth = 10_000
  const read = async (path: string): Promise<Visited> => ({ children: path.length >= 2 * depth ? [] : ['n'] })
  let entered = 0
  let left = 0
  let lastExit = ''
  for await (const s of walk('/', read, { exits: true })) {
    if (s.kind === 'enter') entered++
    else {
      left++
      lastExit = s.path
    }
  }
  assert.equal([entered, left, lastExit], [depth + 1, depth + 1, '/'])
})

test('reads ahead: at most `window` reads in flight, nodes about to be visited first', async () => {
  const children: Record<string, string[]> = { '/': Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(2, '0')}`) }
  for (const c of children['/']!) children[`/${c}`] = []
  let inFlight = 0
  let most = 0
  const order: string[] = []
  const read = async (path: string): Promise<Visited> => {
    order.push(path)
    most = Math.max(most, ++inFlight)
    await new Promise((r) => setTimeout(r, 1))
    inFlight--
    return { children: children[path]! }
  }
  for await (const _ of walk('/', read, { window: 4 })) void _
  assert.ok(most <= 4 && most >= 2, `most in flight: ${most}`)
  assert.equal(order.slice(0, 4), ['/', '/c00', '/c01', '/c02'])
})

test.run()
