/**
 * Failover: time from kill -9 of the server a client is attached to until the
 * first successful call on the same session, over many kills, for zkcloud and
 * node-zookeeper-client on the same 3-server ensemble in the same run.
 *
 *   npm run build && node dist/bench/failover.js        (KILLS=20 to change)
 */
import zookeeper, { type Client } from 'node-zookeeper-client'
import { ZooKeeper } from '../lib/zk-wire/index.js'
import { startEnsemble, type Ensemble } from '../test/support/ensemble.js'
import { envInt, percentile, table } from './support.js'

const KILLS = envInt('KILLS', 20)
const SESSION_TIMEOUT = 6000

interface Subject {
  name: string
  /** Hex session id, as the `cons` four-letter word prints it. */
  session(): string
  /** One read; rejects while disconnected. */
  read(): Promise<void>
  /** True once the session is the same one it started with. */
  sameSession(): boolean
  close(): Promise<void>
}

async function ours(connectString: string): Promise<Subject> {
  const zk = await ZooKeeper.connect(connectString, { sessionTimeout: SESSION_TIMEOUT })
  const id = zk.sessionId
  return {
    name: 'zkcloud',
    session: () => zk.sessionId.toString(16),
    read: async () => void (await zk.exists('/')),
    sameSession: () => zk.sessionId === id,
    close: () => zk.close(),
  }
}

async function peer(connectString: string): Promise<Subject> {
  const client: Client = zookeeper.createClient(connectString, { sessionTimeout: SESSION_TIMEOUT })
  await new Promise<void>((resolve) => {
    client.once('connected', resolve)
    client.connect()
  })
  const hex = (): string => BigInt(`0x${client.getSessionId().toString('hex')}`).toString(16)
  const id = hex()
  return {
    name: 'node-zookeeper-client',
    session: hex,
    read: () => new Promise((resolve, reject) => client.exists('/', (err) => (err ? reject(err) : resolve()))),
    sameSession: () => hex() === id,
    close: async () => client.close(),
  }
}

/** The server whose `cons` lists the session. */
async function attachedServer(ensemble: Ensemble, session: string): Promise<number> {
  for (;;) {
    for (const [i, s] of ensemble.servers.entries()) {
      if (!s.isRunning) continue
      const cons = await s.fourLetter('cons').catch(() => '')
      if (cons.includes(`sid=0x${session}`)) return i
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function failover(ensemble: Ensemble, s: Subject): Promise<{ ms: number; role: string }> {
  const index = await attachedServer(ensemble, s.session())
  const server = ensemble.servers[index]!
  const role = (await server.mode()) ?? 'unknown'
  const t0 = process.hrtime.bigint()
  await server.kill('SIGKILL')
  for (;;) {
    try {
      await s.read()
      break
    } catch {
      await new Promise((r) => setTimeout(r, 1))
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (!s.sameSession()) throw new Error(`${s.name} lost its session`)
  await server.start()
  await ensemble.waitReady()
  return { ms, role }
}

async function main(): Promise<void> {
  const ensemble = await startEnsemble({ size: 3, tickTime: 500 })
  const subjects = [await ours(ensemble.connectString), await peer(ensemble.connectString)]
  const times = new Map<string, Array<{ ms: number; role: string }>>(subjects.map((s) => [s.name, []]))
  try {
    for (let k = 0; k < KILLS; k++) {
      for (const s of k % 2 === 0 ? subjects : [...subjects].reverse()) times.get(s.name)!.push(await failover(ensemble, s))
      process.stderr.write(`kill ${k + 1}/${KILLS}\n`)
    }
  } finally {
    for (const s of subjects) await s.close()
    await ensemble.stop()
  }
  const readTimeout = (SESSION_TIMEOUT * 2) / 3
  console.log(`\nFailover after kill -9 of the attached server (3-server ensemble, session timeout ${SESSION_TIMEOUT} ms, read timeout ${readTimeout} ms), ${KILLS} kills each\n`)
  const figures = (name: string, role?: string): number[] =>
    times
      .get(name)!
      .filter((t) => role === undefined || t.role === role)
      .map((t) => t.ms)
      .sort((x, y) => x - y)
  const rows: Array<Array<string | number>> = []
  for (const [label, role] of [['all kills', undefined], ['follower killed', 'follower'], ['leader killed (election)', 'leader']] as const) {
    const a = figures('zkcloud', role)
    const b = figures('node-zookeeper-client', role)
    for (const p of role === undefined ? [50, 99] : [50]) {
      rows.push([`${label}: p${p} (n=${a.length} / ${b.length})`, `${percentile(a, p).toFixed(0)} ms`, `${percentile(b, p).toFixed(0)} ms`, `${(percentile(a, p) / percentile(b, p)).toFixed(2)}x`])
    }
  }
  table(['kill -9 → first successful call', 'zkcloud', 'node-zookeeper-client', 'ratio zkcloud / peer'], rows)
  console.log(`\ntarget: p99 <= read timeout + 50 ms = ${readTimeout + 50} ms, and no worse than the peer`)
}

await main()
