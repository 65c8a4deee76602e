import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { startEnsemble } from '../support/ensemble.js'
import { TcpProxy } from '../support/proxy.js'
import { sleep } from '../support/wait.js'

/** One critical section a worker reported. */
export interface Section {
  id: number
  start: bigint
  end: bigint
  committed: boolean
  lost: boolean
}

/** What {@link runCounter} observed. */
export interface CounterResult {
  /** The counter's final value. */
  value: number
  /** Ledger entries (one per committed increment). */
  ledger: number
  /** Every critical section, by start time. */
  sections: Section[]
  /** Sections that overlap the one before them (must be none). */
  overlaps: Array<[Section, Section]>
  /** Faults injected while the workers ran. */
  faults: number
}

const worker = fileURLToPath(new URL('./fixtures/lock-worker.js', import.meta.url))

/**
 * The Lock counter check: a 3-server ensemble with a TcpProxy in front of
 * each server, `processes` worker processes that each increment a counter
 * `rounds` times under one Lock, and (with `faults`) links cut and stalled
 * and the leader killed and restarted while they run.
 */
export async function runCounter(options: { processes: number; rounds: number; faults: boolean }): Promise<CounterResult & { logs: string }> {
  const ensemble = await startEnsemble({ size: 3, tickTime: 500 })
  // Each worker reaches each server through its own proxy, so one worker can be cut off alone.
  const links: TcpProxy[][] = []
  const children: ReturnType<typeof spawn>[] = []
  try {
    for (let id = 0; id < options.processes; id++) links.push(await Promise.all(ensemble.servers.map((s) => TcpProxy.start(s.host, s.clientPort))))
    const admin = await ZooKeeper.connect(ensemble.connectString)
    await admin.create('/counter', '0')
    await admin.create('/ledger')
    const sections: Section[] = []
    const exits: Promise<number | null>[] = []
    let holder = -1
    for (let id = 0; id < options.processes; id++) {
      const connectString = links[id]!.map((p) => p.address).join(',')
      const child = spawn(process.execPath, ['--enable-source-maps', worker, JSON.stringify({ connectString, id, rounds: options.rounds, holdMs: 15 })], { stdio: ['ignore', 'pipe', 'inherit'] })
      children.push(child)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const s = JSON.parse(line) as { id: number; holding?: true; start: string; end: string; committed: boolean; lost: boolean }
        if (s.holding) {
          holder = s.id
          return
        }
        sections.push({ ...s, start: BigInt(s.start), end: BigInt(s.end) })
      })
      exits.push(new Promise((resolve) => child.on('exit', (code) => resolve(code))))
    }
    let running = true
    let faults = 0
    const all = Promise.all(exits).finally(() => (running = false))
    const injector = (async () => {
      if (!options.faults) return
      // First, the holder cut off from every server for longer than its session timeout: its
      // session expires, and it must have been told before anyone else gets the lock.
      while (holder < 0 && running) await sleep(10)
      const isolated = links[holder]!
      for (const p of isolated) p.stall()
      faults++
      await sleep(5500)
      for (const p of isolated) p.resume()
      // Then links cut and stalled at random, and the leader killed and restarted once.
      let step = 0
      while (running) {
        await sleep(150 + Math.floor(Math.random() * 200))
        if (!running) break
        const victim = links[Math.floor(Math.random() * links.length)]!
        step++
        faults++
        if (step === 3) {
          const leader = await ensemble.leader()
          if (leader) {
            await leader.kill()
            await sleep(800)
            await leader.start()
          }
        } else if (Math.random() < 0.5) {
          for (const p of victim) p.cut()
        } else {
          const p = victim[Math.floor(Math.random() * victim.length)]!
          p.stall()
          await sleep(300 + Math.floor(Math.random() * 1200))
          p.resume()
        }
      }
    })()
    const codes = await all
    await injector
    if (codes.some((c) => c !== 0)) throw new Error(`a worker failed: exit codes ${codes.join(', ')}`)
    await ensemble.waitReady()
    const value = Number((await admin.getData('/counter')).data.toString())
    const ledger = (await admin.getChildren('/ledger')).length
    await admin.close()
    sections.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
    const overlaps: Array<[Section, Section]> = []
    let latest: Section | null = null
    for (const s of sections) {
      if (latest !== null && s.start < latest.end) overlaps.push([latest, s])
      if (latest === null || s.end > latest.end) latest = s
    }
    return { value, ledger, sections, overlaps, faults, logs: ensemble.logs(20) }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await Promise.all(links.flat().map((p) => p.close()))
    await ensemble.stop()
  }
}
