// test-timeout: 240
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { type ACL, ZooKeeper, digestACL, digestId } from '../../lib/zk-wire/index.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { TcpProxy } from '../support/proxy.js'
import { waitFor } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { cli, startCli } from './run-cli.js'

/** rm -r, cp -r, export and import on trees of 10,000+ nodes, against ZooKeeper 3.8 and the dev server alike. */
const test = await zkSuite<{ dev: DevServer; dir: string }>('zkcloud bulk commands on 10,000-node trees')

test.before(async (ctx) => {
  ctx.dev = await startDevServer({ port: 0 })
  ctx.dir = makeTempDir('cli-bulk')
})
test.after(async (ctx) => {
  await ctx.dev?.close()
  removeTempDir(ctx.dir)
})

const FANOUT = 100
const ALICE: ACL = digestACL('alice', 'pw')
const READ_ONLY: ACL = { perms: 1, id: { scheme: 'world', id: 'anyone' } }

/** What a node holds that a dump must carry. */
interface Content {
  data: string
  acl: string
}

/**
 * Builds `root` with FANOUT children of FANOUT children each (10,101 nodes):
 * text, binary and empty data, a digest ACL on some, a read-only parent, and
 * ephemeral nodes owned by `zk`'s session. Writes are pipelined.
 */
async function build(zk: ZooKeeper, root: string): Promise<void> {
  await zk.create(root, 'root')
  const writes: Array<Promise<unknown>> = []
  for (let i = 0; i < FANOUT; i++) {
    const parent = `${root}/p${String(i).padStart(3, '0')}`
    writes.push(zk.create(parent, i % 10 === 0 ? Buffer.from([0, 0xff, i]) : `parent ${i}`))
    for (let j = 0; j < FANOUT; j++) {
      const acl = j === 7 ? [ALICE, READ_ONLY] : undefined
      const mode = j === 99 && i % 20 === 0 ? 'ephemeral' : 'persistent'
      writes.push(zk.create(`${parent}/c${j}`, j % 3 === 0 ? null : `${i}.${j}`, { mode, ...(acl && { acl }) }))
    }
  }
  await Promise.all(writes)
  // A parent that only lets the world read: an import must still create its children.
  await zk.setACL(`${root}/p001`, [ALICE, READ_ONLY])
}

/** Every node under `root`, by relative path (ephemerals left out), with data and ACL. */
async function contents(zk: ZooKeeper, root: string): Promise<Map<string, Content>> {
  const found = new Map<string, Content>()
  const visit = async (path: string): Promise<void> => {
    const [{ data, stat }, { acl }, children] = await Promise.all([zk.getData(path), zk.getACL(path), zk.getChildren(path)])
    if (stat.ephemeralOwner !== 0n) return
    found.set(path.slice(root.length) || '/', { data: data.toString('base64'), acl: JSON.stringify(acl) })
    await Promise.all(children.map((c) => visit(`${path}/${c}`)))
  }
  await visit(root)
  return found
}

async function scenario(connectString: string, dir: string, label: string): Promise<void> {
  const root = chroot(`bulk-${label}`)
  const at = ['--server', connectString, '--auth', 'digest:alice:pw']
  const zk = await ZooKeeper.connect(connectString, { auth: [['digest', 'alice:pw']] })
  try {
    await build(zk, root)
    const original = await contents(zk, root)
    assert.is(original.size, 1 + FANOUT * FANOUT + FANOUT - 5, 'the tree as built, ephemerals left out')
    const ephemerals = 5

    // export: a header, then every node, parents first; nothing on stdout with -o.
    const file = join(dir, `${label}.jsonl`)
    const exported = await cli([...at, 'export', '-o', file, root])
    assert.equal([exported.code, exported.text, exported.stderr], [0, '', ''], exported.stderr)
    const dump = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.is(dump[0]!.format, 'zkcloud-dump')
    assert.is(dump.length, 1 + original.size + ephemerals)
    assert.is(dump.filter((n) => n.mode === 'ephemeral').length, ephemerals)
    assert.equal(dump[1], { path: '/', data: 'root', encoding: 'utf8', acl: ['world:anyone:cdrwa'], mode: 'persistent' })
    assert.equal(dump.find((n) => n.path === '/p010')!.encoding, 'base64')
    assert.equal(dump.find((n) => n.path === '/p001')!.acl, [`digest:${digestId('alice', 'pw')}:cdrwa`, 'world:anyone:r'])

    // import into a new path: the same data, ACLs and shape; the ephemerals are left out and said so.
    const copy = `${root}-imported`
    const imported = await cli([...at, '--json', 'import', file, copy])
    assert.is(imported.code, 0, imported.stderr)
    assert.equal(JSON.parse(imported.text), { path: copy, imported: original.size, skipped: ephemerals })
    assert.equal(await contents(zk, copy), original)
    const again = await cli([...at, 'import', file, copy])
    assert.is(again.code, 2, 'the destination exists')
    assert.match(again.stderr, /exists: name a new path, or add --overwrite/)
    const part = join(dir, `${label}-p002.jsonl`)
    assert.is((await cli([...at, 'export', '-o', part, `${root}/p002`])).code, 0)
    await zk.setData(`${copy}/p002/c1`, 'changed')
    await zk.delete(`${copy}/p002/c2`)
    assert.is((await cli([...at, 'import', '--overwrite', part, `${copy}/p002`])).code, 0)
    assert.is((await zk.getData(`${copy}/p002/c1`)).data.toString(), '2.1', '--overwrite writes the dump over what is there')
    assert.is((await zk.getData(`${copy}/p002/c2`)).data.toString(), '2.2', 'and creates what is missing')
    assert.is(await zk.getAllChildrenNumber(`${copy}/p002`), FANOUT)

    // A bad dump changes nothing.
    const bad = join(dir, `${label}-bad.jsonl`)
    const lines = readFileSync(file, 'utf8').split('\n')
    lines[5] = '{"path":"/p000/c3","data":"x","encoding":"hex","acl":["world:anyone:cdrwa"]}'
    writeFileSync(bad, lines.join('\n'))
    const refused = await cli([...at, 'import', bad, `${root}-bad`])
    assert.is(refused.code, 2)
    assert.match(refused.stderr, /^zkcloud: import: line 6: "encoding" must be "utf8" or "base64"/)
    assert.is(await zk.exists(`${root}-bad`), null, 'nothing was created')

    // cp -r: the same again, without a file.
    const copied = await cli([...at, '--json', 'cp', '-r', root, `${root}-copy`])
    assert.is(copied.code, 0, copied.stderr)
    assert.equal(JSON.parse(copied.text), { from: root, to: `${root}-copy`, copied: original.size, skipped: ephemerals })
    assert.equal(await contents(zk, `${root}-copy`), original)

    // rm -r: everything, in batches; nothing printed on a pipe.
    const removed = await cli([...at, 'rm', '-r', copy])
    assert.equal([removed.code, removed.text, removed.stderr], [0, '', ''])
    assert.is(await zk.exists(copy), null)
    assert.equal(JSON.parse((await cli([...at, '--json', 'deleteall', '-b', '500', `${root}-copy`])).text), { path: `${root}-copy`, deleted: original.size })

    // Ctrl-C in the middle of rm -r (slowed down by a proxy adding 5 ms each way): it stops,
    // says how many it deleted, and that is exactly how many are gone.
    const before = (await zk.getAllChildrenNumber(root)) + 1
    const [host, port] = connectString.split(',')[0]!.split(':') as [string, string]
    const proxy = await TcpProxy.start(host, Number(port))
    proxy.delay(5)
    const rm = startCli(['--server', `127.0.0.1:${proxy.port}`, '--auth', 'digest:alice:pw', 'rm', '-r', '-b', '20', root])
    await waitFor('the delete to start', async () => (await zk.getAllChildrenNumber(root)) + 1 < before - 200, { timeoutMs: 30_000, intervalMs: 20 })
    rm.child.kill('SIGINT')
    const stopped = await rm.exited
    await proxy.close()
    assert.is(stopped.code, 130, stopped.stderr)
    const said = /^zkcloud: interrupted: deleted ([\d,]+) nodes in [\d.]+ s/.exec(stopped.stderr)
    assert.ok(said, stopped.stderr)
    const left = (await zk.getAllChildrenNumber(root)) + 1
    assert.is(Number(said![1]!.replaceAll(',', '')), before - left, 'the summary counts exactly what was deleted')
    assert.ok(left > 0, 'it stopped before the end')
    assert.is((await cli([...at, 'rm', '-r', root])).code, 0)
  } finally {
    await zk.close()
  }
}

test('ZooKeeper 3.8: export, import (--overwrite, bad dumps), cp -r, rm -r and Ctrl-C', async ({ zk, dir }) => {
  await scenario(zk.connectString, dir, 'zookeeper')
})

test('the dev server: the same', async ({ dev, dir }) => {
  await scenario(dev.connectString, dir, 'dev')
})

test.run()
