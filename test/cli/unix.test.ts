import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { CLI, cli } from './run-cli.js'

/** zkcloud as a Unix tool: pipes closed early, trees that change while walked, paths 10,000 deep. */
const test = suite<{ server: DevServer; zk: ZooKeeper; at: string[] }>('zkcloud in pipes and on odd trees')

test.before(async (ctx) => {
  ctx.server = await startDevServer({ port: 0 })
  ctx.zk = await ZooKeeper.connect(ctx.server.connectString)
  ctx.at = ['--server', ctx.server.connectString]
})
test.after(async (ctx) => {
  await ctx.zk?.close()
  await ctx.server?.close()
})

/** Runs `command` in bash with pipefail: the pipeline's status is the first failure's. */
function bash(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -o pipefail; ${command}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

test('EPIPE: tree, ls -R and --json tree piped into head end quietly with status 0', async ({ zk, at }) => {
  await zk.create('/wide')
  await Promise.all(Array.from({ length: 10_000 }, (_, i) => zk.create(`/wide/node-${String(i).padStart(5, '0')}`)))
  const zkcloud = `${process.execPath} ${CLI} ${at.join(' ')}`
  for (const command of ['tree /wide', 'ls -R /wide', '--json tree /wide']) {
    const r = await bash(`${zkcloud} ${command} | head -n 3`)
    assert.equal([r.code, r.stdout.split('\n').length, r.stderr], [0, 4, ''], command)
  }
})

test('a tree that changes while it is walked: tree, export and rm -r carry on', async ({ zk, at }) => {
  await zk.create('/moving')
  const names = Array.from({ length: 3000 }, (_, i) => `/moving/n${i}`)
  await Promise.all(names.flatMap((n) => [zk.create(n), zk.create(`${n}/leaf`)]))
  // Delete every other subtree while the walks run: some of the listed nodes are gone when read.
  const deleting = Promise.all(names.filter((_, i) => i % 2 === 1).flatMap((n) => [zk.delete(`${n}/leaf`), zk.delete(n)]))
  const [tree, exported] = await Promise.all([cli([...at, 'tree', '/moving']), cli([...at, 'export', '/moving']), deleting])
  assert.equal([tree.code, tree.stderr], [0, ''])
  assert.match(tree.text, /^\/moving\n├── n0\n│   └── leaf\n/)
  assert.equal([exported.code, exported.stderr], [0, ''])
  const writer = (async () => {
    for (let i = 0; i < 200; i++) await zk.create(`/moving/n0/new-${i}`).catch(() => undefined)
  })()
  const removed = await cli([...at, 'rm', '-r', '/moving'])
  await writer
  // A writer racing the delete may win the last word: then rm -r says so (NOTEMPTY) or removes it all.
  assert.ok(removed.code === 0 || /NOTEMPTY|NONODE/.test(removed.stderr), removed.stderr)
  if ((await zk.exists('/moving')) !== null) assert.is((await cli([...at, 'rm', '-r', '/moving'])).code, 0)
})

test('a path 10,000 deep: tree, getAllChildrenNumber, export and rm -r work', async ({ zk, at }) => {
  const depth = 10_000
  let path = '/deep'
  const creates: Array<Promise<string>> = []
  for (let i = 0; i < depth; i++) {
    creates.push(zk.create(path, i === depth - 1 ? 'bottom' : null))
    path += '/d'
  }
  await Promise.all(creates)
  const tree = await cli([...at, 'tree', '/deep'])
  assert.equal([tree.code, tree.stderr], [0, ''])
  const lines = tree.text.trimEnd().split('\n')
  assert.is(lines.length, depth)
  assert.match(lines[depth - 1]!, /… \[depth 9999\] └── d$/)
  assert.is((await cli([...at, 'getAllChildrenNumber', '/deep'])).text, `${depth - 1}\n`)
  const dir = makeTempDir('cli-deep')
  try {
    const file = join(dir, 'deep.jsonl')
    const exported = await cli([...at, 'export', '-o', file, '/deep'])
    assert.equal([exported.code, exported.stderr], [0, ''])
    const dump = readFileSync(file, 'utf8').trimEnd().split('\n')
    assert.is(dump.length, 1 + depth)
    assert.is((JSON.parse(dump[depth]!) as { data: string }).data, 'bottom')
  } finally {
    removeTempDir(dir)
  }
  const removed = await cli([...at, '--json', 'rm', '-r', '/deep'])
  assert.equal([removed.code, JSON.parse(removed.text)], [0, { path: '/deep', deleted: depth }])
})

test.run()
