/**
 * The wire client against node-zookeeper-client, same server, same run:
 * sequential getData latency, pipelined getData/setData throughput with 1,000
 * requests in flight (100-byte values) and client CPU time per operation.
 *
 *   npm run build && node dist/bench/client.js        (ROUNDS=5 OPS=50000 to change)
 */
import zookeeper, { type Client } from 'node-zookeeper-client'
import { ZooKeeper } from '../lib/zk-wire/index.js'
import { benchServers, envInt, median, percentile, table } from './support.js'

const ROUNDS = envInt('ROUNDS', 5)
const OPS = envInt('OPS', 30_000)
const SEQUENTIAL = envInt('SEQUENTIAL', 2_000)
const IN_FLIGHT = envInt('IN_FLIGHT', 1_000)
const VALUE = Buffer.alloc(100, 0x61)
const PATH = `/bench-client-${process.pid}`

/** The two operations under test, as promise-returning functions, for either client. */
interface Subject {
  name: string
  getData(): Promise<unknown>
  setData(): Promise<unknown>
  close(): Promise<void>
}

async function ours(connectString: string): Promise<Subject> {
  const zk = await ZooKeeper.connect(connectString, { sessionTimeout: 30_000 })
  return {
    name: 'zkcloud',
    getData: () => zk.getData(PATH),
    setData: () => zk.setData(PATH, VALUE),
    close: () => zk.close(),
  }
}

async function peer(connectString: string): Promise<Subject> {
  const client: Client = zookeeper.createClient(connectString, { sessionTimeout: 30_000 })
  await new Promise<void>((resolve) => {
    client.once('connected', resolve)
    client.connect()
  })
  const call = <T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> =>
    new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))))
  return {
    name: 'node-zookeeper-client',
    getData: () => call((cb) => client.getData(PATH, cb)),
    setData: () => call((cb) => client.setData(PATH, VALUE, -1, cb)),
    close: async () => client.close(),
  }
}

async function sequential(s: Subject): Promise<number[]> {
  const lat: number[] = []
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = process.hrtime.bigint()
    await s.getData()
    lat.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return lat.sort((a, b) => a - b)
}

/** Keeps IN_FLIGHT calls outstanding until OPS have completed; ops/s and CPU µs per op. */
async function pipelined(call: () => Promise<unknown>): Promise<{ opsPerSec: number; cpuUsPerOp: number }> {
  let started = 0
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await new Promise<void>((resolve, reject) => {
    let done = 0
    const next = (): void => {
      if (started >= OPS) return
      started++
      call().then(() => {
        if (++done === OPS) resolve()
        else next()
      }, reject)
    }
    for (let i = 0; i < IN_FLIGHT; i++) next()
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  return { opsPerSec: OPS / seconds, cpuUsPerOp: (cpu.user + cpu.system) / OPS }
}

async function main(): Promise<void> {
  const servers = await benchServers(1)
  const setup = await ZooKeeper.connect(servers.connectString)
  await setup.create(PATH, VALUE)
  const subjects = [await ours(servers.connectString), await peer(servers.connectString)]
  type Figures = { p50: number[]; p99: number[]; get: number[]; getCpu: number[]; set: number[]; setCpu: number[] }
  const figures = new Map<string, Figures>(subjects.map((s) => [s.name, { p50: [], p99: [], get: [], getCpu: [], set: [], setCpu: [] }]))
  try {
    for (const s of subjects) {
      await pipelined(s.getData) // warm-up: JIT and connection buffers
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? subjects : [...subjects].reverse()
      for (const s of order) {
        const f = figures.get(s.name)!
        const lat = await sequential(s)
        f.p50.push(percentile(lat, 50))
        f.p99.push(percentile(lat, 99))
        const g = await pipelined(s.getData)
        f.get.push(g.opsPerSec)
        f.getCpu.push(g.cpuUsPerOp)
        const w = await pipelined(s.setData)
        f.set.push(w.opsPerSec)
        f.setCpu.push(w.cpuUsPerOp)
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
    }
  } finally {
    for (const s of subjects) await s.close()
    await setup.delete(PATH).catch(() => undefined)
    await setup.close()
    await servers.stop()
  }
  const a = figures.get('zkcloud')!
  const b = figures.get('node-zookeeper-client')!
  console.log(`\nClient benchmark: one ZooKeeper server on loopback, ${ROUNDS} rounds (medians), ${OPS} pipelined ops per run, ${IN_FLIGHT} in flight, 100-byte values\n`)
  const row = (label: string, x: number[], y: number[], unit: string, higherIsBetter: boolean): Array<string | number> => {
    const mx = median(x)
    const my = median(y)
    return [label, `${mx.toFixed(unit === 'ops/s' ? 0 : 3)} ${unit}`, `${my.toFixed(unit === 'ops/s' ? 0 : 3)} ${unit}`, `${(mx / my).toFixed(2)}x${higherIsBetter ? '' : ' (lower is better)'}`]
  }
  table(
    ['figure', 'zkcloud', 'node-zookeeper-client', 'ratio zkcloud / peer'],
    [
      row('sequential getData p50', a.p50, b.p50, 'ms', false),
      row('sequential getData p99', a.p99, b.p99, 'ms', false),
      row('pipelined getData', a.get, b.get, 'ops/s', true),
      row('pipelined setData (100 B)', a.set, b.set, 'ops/s', true),
      row('client CPU per getData', a.getCpu, b.getCpu, 'µs', false),
      row('client CPU per setData', a.setCpu, b.setCpu, 'µs', false),
    ],
  )
}

await main()
