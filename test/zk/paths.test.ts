import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ZkError } from '../../lib/zk-wire/errors.js'
import { HostList, parseConnectString } from '../../lib/zk-wire/hosts.js'
import { toClientPath, toServerPath, validatePath } from '../../lib/zk-wire/paths.js'

const test = suite('paths and connect strings')

const rejects = (path: unknown, why: RegExp, sequential = false): void => {
  assert.throws(
    () => validatePath(path, 'create', sequential),
    (e: unknown) => e instanceof ZkError && e.name === 'BADARGUMENTS' && why.test(e.message),
    `${JSON.stringify(path)} should be rejected (${why})`,
  )
}

test('invalid paths are rejected with BADARGUMENTS naming the problem', () => {
  rejects('', /empty/)
  rejects('a/b', /must start with \//)
  rejects('/a/', /must not end with \//)
  rejects('/a//b', /empty segment/)
  rejects('/a/./b', /relative segment/)
  rejects('/a/..', /relative segment/)
  rejects('/a\u0000b', /NUL/)
  rejects('/a\u0001', /invalid character/)
  rejects('/a\u007f', /invalid character/)
  rejects('/\ud83d\ude00', /invalid character/)
  rejects(undefined, /not a string/)
  rejects(42, /not a string/)
})

test('valid paths pass, and a sequential create may end with /', () => {
  for (const p of ['/', '/a', '/a/b-c_d.e', '/..a', '/a/.b', '/zookeeper/quota', '/é']) validatePath(p, 'get')
  validatePath('/queue/', 'create', true)
  rejects('/queue//', /empty segment/, true)
})

test('chroot is applied to requests and stripped from replies', () => {
  assert.is(toServerPath('', '/a'), '/a')
  assert.is(toServerPath('/app', '/'), '/app')
  assert.is(toServerPath('/app', '/a/b'), '/app/a/b')
  assert.is(toClientPath('/app', '/app'), '/')
  assert.is(toClientPath('/app', '/app/x'), '/app/x'.slice(4))
  assert.is(toClientPath('/app', '/application'), '/application')
  assert.is(toClientPath('', '/x'), '/x')
})

test('connect strings: hosts, default port, IPv6 and chroot', () => {
  assert.equal(parseConnectString('a:1,b,[::1]:3/app/x'), {
    hosts: [
      { host: 'a', port: 1 },
      { host: 'b', port: 2181 },
      { host: '::1', port: 3 },
    ],
    chroot: '/app/x',
  })
  assert.is(parseConnectString('h:2/').chroot, '')
  for (const bad of ['', ' ', 'h:0', 'h:99999', 'h:x', ',', 'h/a/', '[::1']) {
    assert.throws(() => parseConnectString(bad), (e: unknown) => e instanceof ZkError && e.name === 'BADARGUMENTS', bad)
  }
})

test('the host list tries every host before backing off, and backs off exponentially up to the cap', () => {
  const list = new HostList(
    [
      { host: 'a', port: 1 },
      { host: 'b', port: 1 },
    ],
    false,
    Math.random,
    { minMs: 100, maxMs: 400, factor: 2 },
  )
  const seen = [list.next(), list.next()]
  assert.equal(
    seen.map((s) => [s.address.host, s.delayMs]),
    [
      ['a', 0],
      ['b', 0],
    ],
  )
  const delays: number[] = []
  for (let round = 0; round < 4; round++) {
    delays.push(list.next().delayMs)
    assert.is(list.next().delayMs, 0)
  }
  assert.ok(delays[0]! >= 50 && delays[0]! <= 100, `first backoff ${delays[0]}`)
  assert.ok(delays[1]! >= 100 && delays[1]! <= 200, `second backoff ${delays[1]}`)
  assert.ok(delays[3]! >= 200 && delays[3]! <= 400, `capped backoff ${delays[3]}`)
  list.connected()
  assert.is(list.next().delayMs, 0)
  assert.is(list.next().delayMs, 0)
})

test('shuffling keeps every host exactly once', () => {
  const hosts = Array.from({ length: 20 }, (_, i) => ({ host: `h${i}`, port: 1 }))
  const list = new HostList(hosts, true)
  const seen = Array.from({ length: 20 }, () => list.next().address.host)
  assert.equal([...seen].sort(), hosts.map((h) => h.host).sort())
})

test.run()
