/**
 * CPU time per message on the runtime's message path (send, coalescing,
 * framing, socket, decoding, mailbox, receive), sender and receiver nodes in
 * one process over loopback, for this build and, alternating in the same run,
 * another build (`--baseline`, e.g. a build of main from before a change).
 * CPU time per message moves far less with the machine's load than a
 * messages-per-second rate, so it shows whether a change made the path dearer.
 *
 *   node dist/bench/message-cpu.js [--baseline path/to/other/dist] [--rounds 8] [--count 300000]
 */
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

interface Runtime {
  Node: { start(options: Record<string, unknown>): Promise<RuntimeNode> }
}

interface RuntimeNode {
  spawn(fn: (self: RuntimeProcess) => Promise<void>): unknown
  send(to: unknown, message: unknown): boolean
  exited(pid: unknown): Promise<unknown>
  stop(): Promise<void>
}

interface RuntimeProcess {
  receive(): Promise<unknown>
  send(to: unknown, message: unknown): boolean
  drain(to: unknown): Promise<void>
}

const payload = Buffer.alloc(32, 0xab)

/** Sends `count` messages from a process on one node to a process on another; returns CPU µs per message and wall ms. */
async function measure(runtime: Runtime, count: number): Promise<{ cpu: number; wall: number }> {
  const [from, to] = await Promise.all([runtime.Node.start({}), runtime.Node.start({})])
  try {
    let done!: () => void
    const finished = new Promise<void>(resolvePromise => (done = resolvePromise))
    const receiver = to.spawn(async self => {
      for (let n = 0; n < count; n++) await self.receive()
      done()
    })
    const warm = to.spawn(async self => void (await self.receive()))
    from.send(warm, 'connect first')
    await to.exited(warm)
    const cpu = process.cpuUsage()
    const started = process.hrtime.bigint()
    from.spawn(async self => {
      for (let n = 0; n < count; n++) if (!self.send(receiver, { n, payload })) await self.drain(receiver)
    })
    await finished
    const used = process.cpuUsage(cpu)
    return { cpu: (used.user + used.system) / count, wall: Number(process.hrtime.bigint() - started) / 1e6 }
  } finally {
    await Promise.all([from.stop(), to.stop()])
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '8' }, count: { type: 'string', default: '300000' } } })
const builds: [string, string][] = [['this build', resolve(fileURLToPath(new URL('..', import.meta.url)))]]
if (values.baseline !== undefined) builds.push(['baseline', resolve(values.baseline)])
const runtimes = await Promise.all(builds.map(async ([, dist]) => (await import(pathToFileURL(join(dist, 'lib', 'runtime', 'index.js')).href)) as Runtime))
const results = builds.map(() => ({ cpu: [] as number[], wall: [] as number[] }))
const count = Number(values.count)
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [i, runtime] of runtimes.entries()) {
    const { cpu, wall } = await measure(runtime, count)
    results[i]?.cpu.push(cpu)
    results[i]?.wall.push(wall)
  }
}
console.log(`\nmessage path: ${count} messages per round, ${values.rounds} rounds, builds alternating (medians)\n`)
console.log('| build | CPU per message | wall time per round | every round, CPU µs/msg |')
console.log('| --- | --- | --- | --- |')
for (const [i, [label]] of builds.entries()) {
  const { cpu, wall } = results[i] as { cpu: number[]; wall: number[] }
  console.log(`| ${label} | ${median(cpu).toFixed(2)} µs | ${median(wall).toFixed(0)} ms | ${cpu.map(value => value.toFixed(2)).join(', ')} |`)
}
