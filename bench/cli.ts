/**
 * Bulk commands of the zkcloud CLI against a real ZooKeeper 3.8, next to
 * ZooKeeper's own zkCli in the same run: `rm -r` vs zkCli's `deleteall` on
 * trees of 10,000 and 100,000 nodes, and `export`/`import` of the same trees.
 * Both tools run as a user runs them (a process each), so the wall times
 * include starting Node or the JVM; the start-up of each (a `ls /`) is
 * measured too and shown, and the ratio is given both ways.
 *
 *   npm run build && flock /work/locks/bench.lock node dist/bench/cli.js    (SIZES=10000,100000 ROUNDS=3)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ZooKeeper, op } from '../lib/zk-wire/index.js'
import { findZooKeeperInstall } from '../test/support/zk-install.js'
import { benchServers, envInt, fmt, median, table } from './support.js'

const CLI = fileURLToPath(new URL('../pkg/cli.js', import.meta.url))
const SIZES = (process.env.SIZES ?? '10000,100000').split(',').map(Number)
const ROUNDS = envInt('ROUNDS', 3)
/** The test kit starts ZooKeeper tuned for quick starts (C1 only, 256 MB); give it its full JIT and heap here. */
const SERVER_JVM = ['-XX:TieredStopAtLevel=4', '-Xms512m', '-Xmx1g']

/** Runs a command to completion; resolves to its wall time in ms (rejects if it fails). */
function timed(command: string, args: string[], input = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.stdin.end(input)
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (code === 0) resolve(ms)
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`))
    })
  })
}

/** A tree of `size` nodes under `root`: fanout 100, then leaves with 20-byte values. Resolves to its paths, parents first. */
async function build(zk: ZooKeeper, root: string, size: number): Promise<string[]> {
  const paths = [root]
  await zk.create(root)
  const parents = Math.min(100, size)
  const perParent = Math.ceil((size - 1 - parents) / parents)
  let made = 1
  const pending: Array<Promise<unknown>> = []
  const go = async (p: Promise<unknown>): Promise<void> => {
    pending.push(p)
    if (pending.length >= 2000) await Promise.all(pending.splice(0))
  }
  for (let i = 0; i < parents && made < size; i++, made++) {
    paths.push(`${root}/p${i}`)
    await go(zk.create(`${root}/p${i}`))
    for (let j = 0; j < perParent && made < size - 1; j++, made++) {
      paths.push(`${root}/p${i}/leaf-${j}`)
      await go(zk.create(`${root}/p${i}/leaf-${j}`, 'twenty bytes of data'))
    }
  }
  await Promise.all(pending)
  return paths
}

/**
 * The floor: the same deletes, children first, in multi batches of 1,000 with 4 in flight (as
 * the CLI and zkCli send them) from a client that already knows every path; ms.
 */
async function deletesAlone(zk: ZooKeeper, paths: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint()
  const reversed = [...paths].reverse()
  const inFlight: Array<Promise<unknown>> = []
  for (let i = 0; i < reversed.length; i += 1000) {
    inFlight.push(zk.multi(reversed.slice(i, i + 1000).map((p) => op.delete(p))))
    if (inFlight.length >= 4) await inFlight.shift()
  }
  await Promise.all(inFlight)
  return Number(process.hrtime.bigint() - started) / 1e6
}

const main = async (): Promise<void> => {
  const install = findZooKeeperInstall()
  if (install === null) throw new Error('needs java and zookeeper.jar for zkCli')
  const jar = install.classPath.find((p) => /zookeeper[^/]*\.jar$/.test(p))!
  const servers = await benchServers(1, { jvmFlags: SERVER_JVM })
  const host = servers.connectString.split(',')[0]!
  const dir = mkdtempSync(join(tmpdir(), 'zkcloud-bench-cli-'))
  const zk = await ZooKeeper.connect(host)
  const zkcloud = (...args: string[]): Promise<number> => timed(process.execPath, [CLI, '--server', host, ...args])
  const zkCli = (...args: string[]): Promise<number> => timed(install.java, ['-cp', jar, 'org.apache.zookeeper.ZooKeeperMain', '-server', host, ...args])
  try {
    const start = { zkcloud: [] as number[], zkCli: [] as number[] }
    for (let i = 0; i < 3; i++) {
      start.zkcloud.push(await zkcloud('ls', '/'))
      start.zkCli.push(await zkCli('ls', '/'))
    }
    const rows: Array<Array<string | number>> = []
    for (const size of SIZES) {
      const rounds = size > 20_000 ? 1 : ROUNDS
      const f = { rm: [] as number[], deleteall: [] as number[], floor: [] as number[], export: [] as number[], import: [] as number[] }
      for (let r = 0; r < rounds; r++) {
        const root = `/bench-cli-${size}-${r}`
        f.floor.push(await deletesAlone(zk, await build(zk, root, size)))
        await build(zk, root, size)
        f.deleteall.push(await zkCli('deleteall', root))
        await build(zk, root, size)
        const file = join(dir, `${size}-${r}.jsonl`)
        f.export.push(await zkcloud('export', '-o', file, root))
        f.import.push(await zkcloud('import', file, `${root}-copy`))
        f.rm.push(await zkcloud('rm', '-r', root))
        await timed(process.execPath, [CLI, '--server', host, 'rm', '-r', `${root}-copy`])
      }
      const [rm, deleteall] = [median(f.rm), median(f.deleteall)]
      const [s1, s2] = [median(start.zkcloud), median(start.zkCli)]
      rows.push([`delete ${size.toLocaleString('en-US')} nodes (rm -r / deleteall)`, `${fmt(rm)} ms`, `${fmt(deleteall)} ms`, `${(deleteall / rm).toFixed(1)}x`, `${((deleteall - s2) / Math.max(1, rm - s1)).toFixed(1)}x`])
      rows.push([`  nodes per second`, fmt((size * 1000) / rm), fmt((size * 1000) / deleteall), '', ''])
      rows.push([`  floor: the multi deletes alone, paths known`, `${fmt(median(f.floor))} ms`, '', '', ''])
      rows.push([`export ${size.toLocaleString('en-US')} nodes`, `${fmt(median(f.export))} ms`, '-', '', ''])
      rows.push([`import ${size.toLocaleString('en-US')} nodes`, `${fmt(median(f.import))} ms`, '-', '', ''])
    }
    rows.push(['start-up (`ls /`)', `${fmt(median(start.zkcloud))} ms`, `${fmt(median(start.zkCli))} ms`, '', ''])
    console.log(`\nzkcloud CLI vs zkCli, one ZooKeeper 3.8 on loopback; medians of ${ROUNDS} rounds (1 for 100,000 nodes)\n`)
    table(['figure', 'zkcloud', 'zkCli', 'zkCli / zkcloud (wall)', 'without start-up'], rows)
  } finally {
    await zk.close()
    rmSync(dir, { recursive: true, force: true })
    await servers.stop()
  }
}

await main()
