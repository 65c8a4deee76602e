/**
 * Messaging between two nodes in separate OS processes on loopback, next to a
 * raw baseline measured in the same run: the same frames (same envelope,
 * same msgpack codec, same `[u32 length]` framing, same coalescing of
 * writes) over a bare `net` socket pair, with no nodes, processes or mailboxes.
 *
 *   node dist/bench/messaging.js [--count 1000000] [--rounds 5] [--pings 20000]
 *
 * One-way: a process in the child sends `{ n, payload: <32 bytes> }` messages
 * (awaiting `drain` when `send` returns false) to a process in the parent;
 * rate = messages / time from the first to the last arrival. Round trip: a
 * process in the parent sends one message to an echo process in the child and
 * awaits the reply, one at a time. Each figure is the median over the rounds.
 *
 * The same runtime figures are also measured over mutual TLS (`tls` node
 * option, throwaway certificates made with `openssl`) and set against plain
 * TCP from the same run.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { isNativeAccelerationEnabled } from 'msgpackr'
import { decodeValue, encodeFrame, Kind } from '../lib/runtime/codec.js'
import { Node, ProcessId, type NodeTlsOptions } from '../lib/runtime/index.js'
import { FrameDecoder } from '../lib/runtime/transport/framing.js'
import { makeTlsMaterial } from '../test/support/tls-material.js'

const MAX_FRAME = 16 * 1024 * 1024
const CHUNK = 64 * 1024
const payload = Buffer.alloc(32, 0xab)

type Command =
  | { readonly cmd: 'raw-send'; readonly port: number; readonly count: number }
  | { readonly cmd: 'raw-echo'; readonly port: number }
  | { readonly cmd: 'node-send'; readonly to: string; readonly count: number; readonly tls: boolean }

/** TLS material as it crosses to the child (PEM text). */
interface TlsText {
  readonly key: string
  readonly cert: string
  readonly ca: string
}

// ---------------------------------------------------------------- raw side

/** Writes frames the way a hand-written sender would: coalesced, respecting socket backpressure. */
class RawWriter {
  #chunk = Buffer.allocUnsafe(CHUNK)
  #used = 0

  constructor(readonly socket: Socket) {}

  /** Queues one frame; false when the socket wants the sender to wait for 'drain'. */
  send(value: unknown): boolean {
    const frame = encodeFrame(value, MAX_FRAME)
    let ok = true
    if (this.#used + frame.length > CHUNK) ok = this.flush()
    frame.copy(this.#chunk, this.#used)
    this.#used += frame.length
    return ok
  }

  flush(): boolean {
    if (this.#used === 0) return true
    const ok = this.socket.write(this.#chunk.subarray(0, this.#used))
    this.#chunk = Buffer.allocUnsafe(CHUNK)
    this.#used = 0
    return ok
  }
}

async function rawSend(port: number, count: number): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true })
  await once(socket, 'connect')
  const writer = new RawWriter(socket)
  for (let n = 0; n < count; n++) {
    if (!writer.send([Kind.SEND, 1, { n, payload }])) await once(socket, 'drain')
  }
  writer.flush()
  socket.end()
}

async function rawEcho(port: number): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true })
  await once(socket, 'connect')
  const decoder = new FrameDecoder(MAX_FRAME)
  socket.on('data', chunk =>
    decoder.push(chunk, (buffer, start, end) => {
      const [, , message] = decodeValue(buffer, start, end) as [number, number, unknown]
      socket.write(encodeFrame([Kind.SEND, 1, message], MAX_FRAME))
    }),
  )
  await once(socket, 'close')
}

/** Accepts one connection and hands it over. */
async function acceptOne(start: (port: number) => void): Promise<Socket> {
  const server = createServer({ noDelay: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[Socket]>
  start((server.address() as AddressInfo).port)
  const [socket] = await accepted
  server.close()
  return socket
}

async function rawThroughput(child: ChildProcess, count: number): Promise<number> {
  const socket = await acceptOne(port => child.send({ cmd: 'raw-send', port, count } satisfies Command))
  const decoder = new FrameDecoder(MAX_FRAME)
  let received = 0
  let first = 0n
  let last = 0n
  let check = 0
  socket.on('data', chunk =>
    decoder.push(chunk, (buffer, start, end) => {
      const [, , message] = decodeValue(buffer, start, end) as [number, number, { n: number }]
      if (received === 0) first = process.hrtime.bigint()
      check += message.n
      if (++received === count) last = process.hrtime.bigint()
    }),
  )
  await once(socket, 'close')
  if (received !== count || check !== (count * (count - 1)) / 2) throw new Error(`raw: received ${received} of ${count}`)
  return rate(count, first, last)
}

async function rawRoundTrips(child: ChildProcess, pings: number): Promise<number[]> {
  const socket = await acceptOne(port => child.send({ cmd: 'raw-echo', port } satisfies Command))
  const decoder = new FrameDecoder(MAX_FRAME)
  let resolve: () => void = () => undefined
  socket.on('data', chunk =>
    decoder.push(chunk, (buffer, start, end) => {
      decodeValue(buffer, start, end)
      resolve()
    }),
  )
  const samples: number[] = []
  for (let n = 0; n < pings; n++) {
    const replied = new Promise<void>(r => (resolve = r))
    const started = process.hrtime.bigint()
    socket.write(encodeFrame([Kind.SEND, 1, { n, payload }], MAX_FRAME))
    await replied
    samples.push(Number(process.hrtime.bigint() - started) / 1000)
  }
  socket.destroy()
  return samples
}

// ------------------------------------------------------------ runtime side

async function runtimeThroughput(node: Node, child: ChildProcess, count: number, tls = false): Promise<number> {
  let first = 0n
  let last = 0n
  const receiver = node.spawn(async self => {
    let check = 0
    for (let received = 0; received < count; received++) {
      const message = await self.receive<{ n: number }>()
      if (received === 0) first = process.hrtime.bigint()
      check += message.n
    }
    last = process.hrtime.bigint()
    if (check !== (count * (count - 1)) / 2) throw new Error('runtime: wrong messages')
  })
  const exited = node.exited(receiver)
  child.send({ cmd: 'node-send', to: receiver.toString(), count, tls } satisfies Command)
  const reason = await exited
  if (reason !== 'normal') throw new Error(`runtime receiver ended with ${String(reason)}`)
  return rate(count, first, last)
}

async function runtimeRoundTrips(node: Node, echo: ProcessId, pings: number): Promise<number[]> {
  const samples: number[] = []
  const pinger = node.spawn(async self => {
    self.send(echo, { reply: self.pid })
    await self.receive()
    for (let n = 0; n < pings; n++) {
      const started = process.hrtime.bigint()
      self.send(echo, { n, payload })
      await self.receive()
      samples.push(Number(process.hrtime.bigint() - started) / 1000)
    }
  })
  const reason = await node.exited(pinger)
  if (reason !== 'normal') throw new Error(`pinger ended with ${String(reason)}`)
  return samples
}

// ------------------------------------------------------------------- child

/** Echoes to the last process that introduced itself with `{ reply }`. */
function spawnEcho(node: Node): ProcessId {
  return node.spawn(async self => {
    let reply: ProcessId | null = null
    for (;;) {
      const message = await self.receive<{ reply?: ProcessId }>()
      if (message.reply !== undefined) {
        reply = message.reply
        self.send(reply, 'ready')
      } else if (reply !== null) {
        self.send(reply, message)
      }
    }
  })
}

async function childMain(tls: TlsText): Promise<void> {
  const node = await Node.start({})
  const secure = await Node.start({ tls })
  const echo = spawnEcho(node)
  const secureEcho = spawnEcho(secure)
  process.on('message', (command: Command) => {
    if (command.cmd === 'raw-send') void rawSend(command.port, command.count)
    else if (command.cmd === 'raw-echo') void rawEcho(command.port)
    else {
      const to = ProcessId.parse(command.to)
      ;(command.tls ? secure : node).spawn(async self => {
        for (let n = 0; n < command.count; n++) {
          if (!self.send(to, { n, payload })) await self.drain(to)
        }
      })
    }
  })
  process.on('disconnect', () => void Promise.all([node.stop(), secure.stop()]).then(() => process.exit(0)))
  process.send?.({ echo: echo.toString(), secureEcho: secureEcho.toString() })
}

// ------------------------------------------------------------------ parent

function rate(count: number, first: bigint, last: bigint): number {
  return (count - 1) / (Number(last - first) / 1e9)
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

function median(values: number[]): number {
  return percentile(values, 50)
}

async function parentMain(): Promise<void> {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' }, pings: { type: 'string', default: '20000' } },
  })
  const count = Number(values.count)
  const rounds = Number(values.rounds)
  const pings = Number(values.pings)
  const dir = await mkdtemp(join(tmpdir(), 'zkcloud-bench-tls-'))
  const material = await makeTlsMaterial(dir).finally(() => rm(dir, { recursive: true, force: true }))
  const { ca, cert, key } = material.client
  const tls: NodeTlsOptions = { ca, cert, key }
  const tlsText: TlsText = { ca: ca.toString(), cert: cert.toString(), key: key.toString() }
  const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(tlsText)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const started = once(child, 'message') as Promise<[{ echo: string; secureEcho: string }]>
  const node = await Node.start({})
  const secure = await Node.start({ tls })
  try {
    const [ready] = await started
    const echo = ProcessId.parse(ready.echo)
    const secureEcho = ProcessId.parse(ready.secureEcho)
    const results = {
      runtimeRate: [] as number[], rawRate: [] as number[], tlsRate: [] as number[],
      runtimeP50: [] as number[], rawP50: [] as number[], tlsP50: [] as number[],
      runtimeP99: [] as number[], rawP99: [] as number[], tlsP99: [] as number[],
    }
    await rawThroughput(child, Math.min(count, 200_000))
    await runtimeThroughput(node, child, Math.min(count, 200_000))
    await runtimeThroughput(secure, child, Math.min(count, 200_000), true)
    await rawRoundTrips(child, 2000)
    await runtimeRoundTrips(node, echo, 2000)
    await runtimeRoundTrips(secure, secureEcho, 2000)
    for (let round = 0; round < rounds; round++) {
      results.rawRate.push(await rawThroughput(child, count))
      results.runtimeRate.push(await runtimeThroughput(node, child, count))
      results.tlsRate.push(await runtimeThroughput(secure, child, count, true))
      const raw = await rawRoundTrips(child, pings)
      const runtime = await runtimeRoundTrips(node, echo, pings)
      const overTls = await runtimeRoundTrips(secure, secureEcho, pings)
      results.rawP50.push(percentile(raw, 50))
      results.rawP99.push(percentile(raw, 99))
      results.runtimeP50.push(percentile(runtime, 50))
      results.runtimeP99.push(percentile(runtime, 99))
      results.tlsP50.push(percentile(overTls, 50))
      results.tlsP99.push(percentile(overTls, 99))
      console.error(
        `round ${round + 1}/${rounds}: runtime ${fmt(results.runtimeRate.at(-1) as number)} msgs/s, raw ${fmt(results.rawRate.at(-1) as number)} msgs/s, ` +
          `runtime over TLS ${fmt(results.tlsRate.at(-1) as number)} msgs/s`,
      )
    }
    const rt = median(results.runtimeRate)
    console.log(`\nmessaging: ${count} one-way messages and ${pings} round trips per round, ${rounds} rounds (medians)`)
    console.log(`node ${process.version}, msgpackr native accelerator: ${isNativeAccelerationEnabled ? 'on' : 'off'}\n`)
    comparison(['runtime', 'raw socket', 'runtime / raw'], [rt, median(results.rawRate)], [
      [median(results.runtimeP50), median(results.rawP50)],
      [median(results.runtimeP99), median(results.rawP99)],
    ])
    console.log(`\nthe runtime over mutual TLS against the runtime over plain TCP, same run:\n`)
    comparison(['TLS', 'plain TCP', 'TLS / plain'], [median(results.tlsRate), rt], [
      [median(results.tlsP50), median(results.runtimeP50)],
      [median(results.tlsP99), median(results.runtimeP99)],
    ])
  } finally {
    child.disconnect()
    await Promise.all([node.stop(), secure.stop()])
  }
}

/** Prints one table: throughput (higher is better) and round-trip p50/p99 (lower is better) of a thing next to its peer. */
function comparison(headers: readonly [string, string, string], rates: readonly [number, number], trips: readonly (readonly [number, number])[]): void {
  const row = (label: string, ours: number, peer: number, ratio: string): string =>
    `| ${label.padEnd(26)} | ${fmt(ours).padStart(12)} | ${fmt(peer).padStart(12)} | ${ratio.padStart(14)} |`
  console.log(`| ${'metric'.padEnd(26)} | ${headers[0].padStart(12)} | ${headers[1].padStart(12)} | ${headers[2].padStart(14)} |`)
  console.log(`|${'-'.repeat(28)}|${'-'.repeat(14)}|${'-'.repeat(14)}|${'-'.repeat(16)}|`)
  console.log(row('one-way throughput, msgs/s', rates[0], rates[1], `${((rates[0] / rates[1]) * 100).toFixed(0)} %`))
  for (const [label, [ours, peer]] of [['round trip p50, µs', trips[0]], ['round trip p99, µs', trips[1]]] as const) {
    console.log(row(label, ours as number, peer as number, `${((ours as number) / (peer as number)).toFixed(2)} x`))
  }
}

function fmt(value: number): string {
  return value >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1)
}

const childAt = process.argv.indexOf('--child')
if (childAt >= 0) await childMain(JSON.parse(process.argv[childAt + 1] as string) as TlsText)
else await parentMain()
