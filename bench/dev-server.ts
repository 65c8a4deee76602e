/**
 * The dev server next to a real single ZooKeeper server, same client, same
 * run: pipelined getData and setData throughput (100-byte values) and
 * creation and deletion of ephemeral sequential nodes. The dev server runs
 * in its own process (`zkcloud dev-server`), as users run it.
 *
 *   npm run build && node dist/bench/dev-server.js        (ROUNDS=5 OPS=30000 IN_FLIGHT=1000 to change)
 *
 * `npm run build` also bundles dist/pkg/cli.js, the `zkcloud` executable this runs.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ZooKeeper } from '../lib/zk-wire/index.js'
import { benchServers, envInt, median, table } from './support.js'

const ROUNDS = envInt('ROUNDS', 5)
const OPS = envInt('OPS', 30_000)
const IN_FLIGHT = envInt('IN_FLIGHT', 1_000)
const VALUE = Buffer.alloc(100, 0x61)
const PATH = `/bench-dev-server-${process.pid}`
const CLI = fileURLToPath(new URL('../pkg/cli.js', import.meta.url))
/** The test kit starts ZooKeeper tuned for quick starts (C1 only, 256 MB); give it its full JIT and heap here. */
const SERVER_JVM = ['-XX:TieredStopAtLevel=4', '-Xms512m', '-Xmx1g']

/** Keeps IN_FLIGHT calls outstanding until `count` have completed; returns ops/s. */
async function pipelined(count: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint()
  await new Promise<void>((resolve, reject) => {
    let started = 0
    let done = 0
    const next = (): void => {
      if (started >= count) return
      call(started++).then(() => {
        if (++done === count) resolve()
        else next()
      }, reject)
    }
    for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) next()
  })
  return count / (Number(process.hrtime.bigint() - t0) / 1e9)
}

interface Figures {
  get: number[]
  set: number[]
  create: number[]
  delete: number[]
}

async function measure(zk: ZooKeeper, f: Figures): Promise<void> {
  f.get.push(await pipelined(OPS, () => zk.getData(PATH)))
  f.set.push(await pipelined(OPS, () => zk.setData(PATH, VALUE)))
  const created: string[] = []
  f.create.push(await pipelined(OPS, () => zk.create(`${PATH}/n-`, VALUE, { mode: 'ephemeral_sequential' }).then((p) => created.push(p))))
  f.delete.push(await pipelined(created.length, (i) => zk.delete(created[i]!)))
}

/** `zkcloud dev-server` on a free port, in a process of its own. */
async function startDevServerProcess(): Promise<{ connectString: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'dev-server', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const connectString = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (line: Buffer) => resolve((JSON.parse(line.toString()) as { listening: string }).listening))
    child.once('exit', (code) => reject(new Error(`dev server exited (${code})`)))
  })
  return { connectString, stop: () => (child.kill('SIGTERM'), exited) }
}

async function main(): Promise<void> {
  const real = await benchServers(1, { jvmFlags: SERVER_JVM })
  const dev = await startDevServerProcess().catch(async (err) => {
    await real.stop()
    throw err
  })
  const subjects = [
    { name: 'dev server', zk: await ZooKeeper.connect(dev.connectString, { sessionTimeout: 30_000 }) },
    { name: 'ZooKeeper 3.8', zk: await ZooKeeper.connect(real.connectString, { sessionTimeout: 30_000 }) },
  ]
  const figures = new Map<string, Figures>(subjects.map((s) => [s.name, { get: [], set: [], create: [], delete: [] }]))
  try {
    for (const { zk } of subjects) {
      await zk.create(PATH, VALUE)
      await measure(zk, { get: [], set: [], create: [], delete: [] }) // warm-up: JIT, connection buffers
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of round % 2 === 0 ? subjects : [...subjects].reverse()) await measure(s.zk, figures.get(s.name)!)
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
    }
  } finally {
    for (const { zk } of subjects) {
      await zk.delete(PATH).catch(() => undefined)
      await zk.close()
    }
    await dev.stop()
    await real.stop()
  }
  const d = figures.get('dev server')!
  const z = figures.get('ZooKeeper 3.8')!
  console.log(`\nDev server vs ZooKeeper 3.8.0 (standalone, forceSync=no, JVM ${SERVER_JVM.join(' ')}), both on loopback, same client; ${ROUNDS} rounds (medians), ${OPS} ops per run, ${IN_FLIGHT} in flight, 100-byte values`)
  console.log('The dev server keeps everything in memory: no transaction log, no fsync, no quorum. ZooKeeper here writes its log without fsync.\n')
  const row = (label: string, a: number[], b: number[]): Array<string | number> => [label, `${median(a).toFixed(0)} ops/s`, `${median(b).toFixed(0)} ops/s`, `${(median(a) / median(b)).toFixed(2)}x`]
  table(
    ['figure', 'dev server', 'ZooKeeper 3.8', 'ratio dev / real'],
    [
      row('pipelined getData', d.get, z.get),
      row('pipelined setData', d.set, z.set),
      row('create ephemeral sequential', d.create, z.create),
      row('delete those nodes', d.delete, z.delete),
    ],
  )
}

await main()
