// test-timeout: 240
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper, op } from '../../lib/zk-wire/index.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { TcpProxy } from '../support/proxy.js'
import { sleep, waitFor } from '../support/wait.js'
import { type CliResult, startCli } from './run-cli.js'

/**
 * Ctrl-C in the middle of a command that changes many nodes (`import`, `cp -r`,
 * `setAcl -R`; `rm -r` is in bulk.test.ts): it stops sending, finishes what is in
 * flight, says exactly how much it did, and exits 130 — never 0, and never
 * carries on to the end. The link is slowed by a proxy so the command is still
 * running when SIGINT arrives.
 */
const test = suite<{ server: DevServer; proxy: TcpProxy; zk: ZooKeeper; dir: string; dump: string }>('zkcloud: Ctrl-C during bulk changes')

const PARENTS = 20
const CHILDREN = 1000
/** Every node of /src: the root, the parents and their children. */
const TOTAL = 1 + PARENTS + PARENTS * CHILDREN

test.before(async (ctx) => {
  ctx.dir = makeTempDir('cli-interrupt')
  ctx.server = await startDevServer({ port: 0 })
  ctx.proxy = await TcpProxy.start('127.0.0.1', ctx.server.port)
  ctx.zk = await ZooKeeper.connect(ctx.server.connectString)
  await ctx.zk.create('/src', 'root')
  const lines = [JSON.stringify({ format: 'zkcloud-dump', version: 1, root: '/src', taken: new Date().toISOString() })]
  const node = (path: string, data: string): string => JSON.stringify({ path, data, encoding: 'utf8', acl: ['world:anyone:cdrwa'], mode: 'persistent' })
  lines.push(node('/', 'root'))
  for (let p = 0; p < PARENTS; p++) {
    const parent = `/p${p}`
    await ctx.zk.create(`/src${parent}`, parent)
    lines.push(node(parent, parent))
    const creates = []
    for (let c = 0; c < CHILDREN; c++) {
      creates.push(op.create(`/src${parent}/c${c}`, 'x'))
      lines.push(node(`${parent}/c${c}`, 'x'))
    }
    await ctx.zk.multi(creates)
  }
  ctx.dump = join(ctx.dir, 'src.jsonl')
  writeFileSync(ctx.dump, `${lines.join('\n')}\n`)
})
test.after(async (ctx) => {
  await ctx.zk?.close()
  await ctx.proxy?.close()
  await ctx.server?.close()
  if (ctx.dir) removeTempDir(ctx.dir)
})

/**
 * Runs `zkcloud args…` through the proxy and, once `started` holds, stalls the link,
 * sends SIGINT and lets the link go again after `stallMs`: whatever was in flight
 * then completes, and nothing more should be sent. Without an answer to the
 * interrupt the command would go on to the end.
 */
async function interrupted(proxy: TcpProxy, args: string[], started: () => Promise<boolean>, stallMs = 300): Promise<CliResult & { ms: number }> {
  proxy.delay(20)
  try {
    const run = startCli(['--server', proxy.address, ...args])
    await waitFor('the command to be under way', started, { timeoutMs: 30_000, intervalMs: 20 })
    proxy.stall()
    const at = Date.now()
    run.child.kill('SIGINT')
    await sleep(stallMs)
    proxy.resume()
    const r = await run.exited
    return { ...r, ms: Date.now() - at }
  } finally {
    proxy.resume()
    proxy.delay(0)
  }
}

/** The count a summary line `interrupted: <verb> N nodes …` gives. */
function counted(r: CliResult, pattern: RegExp): number {
  const said = pattern.exec(r.stderr)
  assert.ok(said, `a summary on stderr: ${r.stderr}`)
  return Number(said![1]!.replaceAll(',', ''))
}

/** Nodes at and below `path`, or 0 if it is not there. */
async function size(zk: ZooKeeper, path: string): Promise<number> {
  return (await zk.exists(path)) === null ? 0 : (await zk.getAllChildrenNumber(path)) + 1
}

test('import: Ctrl-C stops it, exit 130, and the summary counts exactly the nodes created', async ({ proxy, zk, dump }) => {
  const r = await interrupted(proxy, ['import', dump, '/imported'], async () => (await size(zk, '/imported')) > 0)
  assert.is(r.code, 130, r.stderr)
  const created = counted(r, /^zkcloud: interrupted: imported ([\d,]+) nodes in [\d.]+ s .* of 20,021$/m)
  assert.is(created, await size(zk, '/imported'), 'the summary counts what is there')
  assert.ok(created < TOTAL / 2, `it stopped soon, with what was in flight (${created} of ${TOTAL})`)
})

test('cp -r: Ctrl-C stops it, exit 130, and the summary counts exactly the nodes copied; --json says interrupted', async ({ proxy, zk }) => {
  const r = await interrupted(proxy, ['--json', 'cp', '-r', '/src', '/copy'], async () => (await size(zk, '/copy')) > 0)
  assert.is(r.code, 130, r.stderr)
  const doc = JSON.parse(r.text) as { copied: number; interrupted?: boolean }
  assert.is(doc.interrupted, true, r.text)
  assert.is(doc.copied, await size(zk, '/copy'), 'the count is what is there')
  assert.ok(doc.copied < TOTAL / 2, `it stopped soon, with what was in flight (${doc.copied} of ${TOTAL})`)
})

test('setAcl -R: Ctrl-C stops it, exit 130, and the summary counts exactly the nodes changed', async ({ proxy, zk }) => {
  const r = await interrupted(proxy, ['setAcl', '-R', '/src', 'world:anyone:cdra'], async () => (await zk.getACL('/src')).acl[0]!.perms !== 31)
  assert.is(r.code, 130, r.stderr)
  const changed = counted(r, /^zkcloud: interrupted: the ACL of ([\d,]+) nodes in [\d.]+ s .*was set$/m)
  const paths = ['/src', ...Array.from({ length: PARENTS }, (_, p) => [`/src/p${p}`, ...Array.from({ length: CHILDREN }, (_, c) => `/src/p${p}/c${c}`)]).flat()]
  const acls = await Promise.all(paths.map((p) => zk.getACL(p)))
  assert.is(changed, acls.filter((a) => a.acl[0]!.perms !== 31).length, 'the summary counts what changed')
  assert.ok(changed < TOTAL / 2, `it stopped soon, with what was in flight (${changed} of ${TOTAL})`)
})

test('a command that cannot finish after Ctrl-C (its server stalled) is given up after a grace period: 130, never 0', async ({ proxy, zk }) => {
  proxy.delay(20)
  const run = startCli(['--server', proxy.address, 'setAcl', '-R', '/src', 'world:anyone:cra'])
  try {
    await waitFor('the command to be under way', async () => (await zk.getACL('/src')).acl[0]!.perms === 21, { timeoutMs: 30_000, intervalMs: 20 })
    proxy.stall()
    const at = Date.now()
    run.child.kill('SIGINT')
    const r = await run.exited
    assert.is(r.code, 130, r.stderr)
    assert.ok(Date.now() - at < 10_000, `it gave up ${Date.now() - at} ms after Ctrl-C`)
  } finally {
    proxy.resume()
    proxy.delay(0)
  }
})

test.run()
