/**
 * How long a legitimate peer needs to reach a node that a connection flood
 * from the same address is hitting, for this build and, in the same run, for
 * another build (`--baseline`, e.g. one of main before the pre-authentication
 * bounds), interleaved round by round.
 *
 *   node dist/bench/flood.js [--baseline path/to/other/dist] [--rounds 5] [--count 2000] [--fds 1024]
 *
 * Each round: a target node in its own OS process limited to `--fds` file
 * descriptors (`ulimit -n`, as in the report that found the lockout), with a
 * cookie and the default handshakeTimeout; a flooder process keeping `--count`
 * sockets from 127.0.0.1 open to it (half silent, half slowloris, each one the
 * node closes opened again at once); once the flood is steady, a peer node in
 * a third process, also on 127.0.0.1, sends to an echo process of the target
 * every 100 ms until one answer comes back. The figure is the time from its
 * first send to that answer.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const THIS_DIST = resolve(fileURLToPath(new URL('..', import.meta.url)))
const SELF = fileURLToPath(import.meta.url)
const GIVE_UP_MS = 30_000

interface Runtime {
  Node: {
    start(options: Record<string, unknown>): Promise<RuntimeNode>
  }
  ProcessId: { parse(text: string): unknown }
}

interface RuntimeNode {
  readonly id: { toString(): string; host: string; port: number }
  spawn(fn: (self: RuntimeProcess) => Promise<void>): { toString(): string }
  register(name: string, pid: unknown): void
  send(to: unknown, message: unknown): boolean
  stop(): Promise<void>
}

interface RuntimeProcess {
  readonly pid: unknown
  receive(options?: { timeout: number }): Promise<unknown>
  send(to: unknown, message: unknown): boolean
}

async function load(dist: string): Promise<Runtime> {
  return (await import(pathToFileURL(join(dist, 'lib', 'runtime', 'index.js')).href)) as Runtime
}

// ------------------------------------------------------------------ children

/** The node under attack: echoes `{ reply, body }`. */
async function targetMain(dist: string, cookie: string): Promise<void> {
  const { Node } = await load(dist)
  const node = await Node.start({ cookie, logError: () => undefined })
  const echo = node.spawn(async self => {
    for (;;) {
      const { reply, body } = (await self.receive()) as { reply: unknown; body: unknown }
      self.send(reply, body)
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send?.({ id: node.id.toString(), host: node.id.host, port: node.id.port, echo: echo.toString() })
}

/** The legitimate peer: reports the milliseconds until the first echo. */
async function peerMain(dist: string, cookie: string, echoText: string): Promise<void> {
  const { Node, ProcessId } = await load(dist)
  const node = await Node.start({ cookie, logError: () => undefined })
  const echo = ProcessId.parse(echoText)
  const started = Date.now()
  const elapsed = await new Promise<number>(done => {
    node.spawn(async self => {
      for (let attempt = 0; Date.now() - started < GIVE_UP_MS; attempt++) {
        node.send(echo, { reply: self.pid, body: attempt })
        if ((await self.receive({ timeout: 100 })) !== undefined) break
      }
      done(Date.now() - started)
    })
  })
  process.send?.({ elapsed })
  await node.stop()
  process.exit(0)
}

// -------------------------------------------------------------------- parent

function message<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const onMessage = (value: unknown): void => {
      child.off('exit', onExit)
      resolvePromise(value as T)
    }
    const onExit = (code: number | null): void => {
      child.off('message', onMessage)
      reject(new Error(`${what} exited (${code}) before answering`))
    }
    child.once('message', onMessage)
    child.once('exit', onExit)
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/** One round against the runtime in `dist`; returns the peer's milliseconds to its first echo. */
async function round(dist: string, count: number, fds: number): Promise<{ elapsed: number; shed: number }> {
  const cookie = randomBytes(16).toString('hex')
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const
  const target = spawn('sh', ['-c', `ulimit -n ${fds} && exec "$0" "$@"`, process.execPath, SELF, '--target', dist, cookie], { stdio: [...stdio] })
  let flooder: ChildProcess | undefined
  let peer: ChildProcess | undefined
  try {
    const ready = await message<{ host: string; port: number; echo: string }>(target, 'the target')
    flooder = fork(join(THIS_DIST, 'test', 'runtime', 'fixtures', 'flooder.js'), [JSON.stringify({ host: ready.host, port: ready.port, count })], { stdio: [...stdio] })
    await message(flooder, 'the flooder')
    const report = async (): Promise<{ opened: number; closed: number }> => {
      const answer = message<{ opened: number; closed: number }>(flooder as ChildProcess, 'the flooder')
      flooder?.send('report')
      return answer
    }
    // Steady: every socket has been opened, and the node has closed some (or 3 s went by).
    const steadyBy = Date.now() + 3000
    while (Date.now() < steadyBy && (await report()).opened < count + 200) await new Promise(r => setTimeout(r, 100))
    const before = await report()
    peer = fork(SELF, ['--peer', dist, cookie, ready.echo], { stdio: [...stdio] })
    const { elapsed } = await message<{ elapsed: number }>(peer, 'the peer')
    const after = await report()
    return { elapsed, shed: after.closed - before.closed }
  } finally {
    if (peer !== undefined) await stop(peer)
    if (flooder !== undefined) await stop(flooder)
    await stop(target)
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function parentMain(): Promise<void> {
  const { values } = parseArgs({
    options: {
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '5' },
      count: { type: 'string', default: '2000' },
      fds: { type: 'string', default: '1024' },
    },
  })
  const rounds = Number(values.rounds)
  const count = Number(values.count)
  const fds = Number(values.fds)
  const builds: [string, string][] = [['this build', THIS_DIST]]
  if (values.baseline !== undefined) builds.push(['baseline', resolve(values.baseline)])
  const results = new Map<string, { elapsed: number[]; shed: number[] }>(builds.map(([label]) => [label, { elapsed: [], shed: [] }]))
  for (let n = 0; n < rounds; n++) {
    for (const [label, dist] of builds) {
      const { elapsed, shed } = await round(dist, count, fds)
      const result = results.get(label) as { elapsed: number[]; shed: number[] }
      result.elapsed.push(elapsed)
      result.shed.push(shed)
      console.error(`round ${n + 1}/${rounds}, ${label}: the peer got through in ${elapsed} ms (${shed} flood sockets closed meanwhile)`)
    }
  }
  console.log(`\nflood: ${count} silent + slowloris sockets from 127.0.0.1, target limited to ${fds} fds, default handshakeTimeout, ${rounds} rounds`)
  console.log(`node ${process.version}; baseline: ${values.baseline ?? 'none'}\n`)
  console.log('| build | peer gets through: median | max | every round (ms) |')
  console.log('| --- | --- | --- | --- |')
  for (const [label] of builds) {
    const { elapsed } = results.get(label) as { elapsed: number[] }
    console.log(`| ${label} | ${median(elapsed)} ms | ${Math.max(...elapsed)} ms | ${elapsed.join(', ')} |`)
  }
}

const [mode, dist, cookie, echo] = process.argv.slice(2)
if (mode === '--target') await targetMain(dist as string, cookie as string)
else if (mode === '--peer') await peerMain(dist as string, cookie as string, echo as string)
else await parentMain()
