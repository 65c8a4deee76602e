import { fork, spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import { Node, NodeId, ProcessId, type NodeOptions, type Process } from '../../lib/runtime/index.js'
import { FrameDecoder } from '../../lib/runtime/transport/framing.js'
import { AcceptHandshake, DialHandshake, NONCE_SIZE, type HandshakeContext, type HandshakeStep } from '../../lib/runtime/transport/handshake.js'

/** Rejects with `what` if `promise` takes longer than `ms`; the timer never outlives the promise. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A fresh random cookie with 128 bits of entropy, as users should make them. */
export function newCookie(): string {
  return randomBytes(16).toString('hex')
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls `condition` until it holds. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`)
    await sleep(5)
  }
}

/** A started node and the lines its `logError` hook received. */
export interface TestNode {
  readonly node: Node
  readonly errors: string[]
}

/**
 * Starts nodes, runs `body` and stops them all whatever happens.
 */
export async function withNodes(
  options: readonly NodeOptions[],
  body: (...nodes: TestNode[]) => Promise<void>,
): Promise<void> {
  const started: TestNode[] = []
  try {
    for (const option of options) {
      const errors: string[] = []
      const node = await Node.start({ ...option, logError: line => errors.push(line) })
      started.push({ node, errors })
    }
    await body(...started)
  } finally {
    await Promise.all(started.map(({ node }) => node.stop()))
  }
}

/**
 * Spawns a process on `node` that forwards every message it receives to
 * `messages`, and resolves `next()` calls in order.
 */
export function collector(node: Node): { pid: ProcessId; messages: unknown[]; next: (ms?: number) => Promise<unknown> } {
  const messages: unknown[] = []
  const waiting: ((message: unknown) => void)[] = []
  const pid = node.spawn(async self => {
    for (;;) {
      const message = await self.receive()
      const resolve = waiting.shift()
      if (resolve !== undefined) resolve(message)
      else messages.push(message)
    }
  })
  const next = (ms = 5000): Promise<unknown> => {
    if (messages.length > 0) return Promise.resolve(messages.shift())
    return within(new Promise(resolve => waiting.push(resolve)), ms, 'a message for the collector')
  }
  return { pid, messages, next }
}

/** Sends `n` to `echo` from a process on `from` and checks that it comes back. */
async function echoThrough(from: Node, echo: ProcessId, n: number): Promise<void> {
  const reply = await within(
    new Promise(resolve => {
      from.spawn(async (self: Process) => {
        self.send(echo, { from: self.pid, n })
        resolve(await self.receive())
      })
    }),
    5000,
    `an echo through ${echo.node}`,
  )
  if ((reply as { echoed?: number }).echoed !== n) throw new Error(`unexpected echo ${JSON.stringify(reply)}`)
}

function spawnEcho(node: Node): ProcessId {
  return node.spawn(async self => {
    for (;;) {
      const message = await self.receive<{ from: ProcessId; n: number }>()
      self.send(message.from, { echoed: message.n })
    }
  })
}

/** Checks that `node` serves a peer that connects now. */
export async function assertServes(node: Node, cookie?: string): Promise<void> {
  const witness = await Node.start(cookie === undefined ? {} : { cookie })
  try {
    await echoThrough(witness, spawnEcho(node), 42)
  } finally {
    await witness.stop()
  }
}

/**
 * Runs `body` (which feeds `node` bad input) while a peer is connected, then
 * checks that this peer's connection survived and still works, and that a
 * new peer can connect.
 */
export async function servedThroughout(node: Node, cookie: string | undefined, body: () => Promise<void>): Promise<void> {
  const witness = await Node.start(cookie === undefined ? {} : { cookie })
  try {
    const echo = spawnEcho(node)
    let drops = 0
    witness.on('nodedown', () => drops++)
    await echoThrough(witness, echo, 1)
    await body()
    await echoThrough(witness, echo, 2)
    if (drops > 0 || witness.peers().length !== 1) throw new Error('the connected peer lost its connection')
  } finally {
    await witness.stop()
  }
  await assertServes(node, cookie)
}

/**
 * A hand-driven peer speaking the node protocol over a bare socket, for
 * feeding a node bad input after (or instead of) a proper handshake.
 */
export class RawPeer {
  readonly frames: unknown[] = []
  readonly decoder = new FrameDecoder(64 * 1024 * 1024)
  closed: Promise<void>

  private constructor(
    readonly socket: Socket,
    readonly id: NodeId,
  ) {
    this.closed = once(socket, 'close').then(() => undefined)
  }

  /** Connects to `target` and completes the handshake as node `id`. */
  static async dial(target: NodeId, options: { cookie?: string; id?: NodeId } = {}): Promise<RawPeer> {
    const id = options.id ?? new NodeId('127.0.0.1', 1, 7)
    const socket = connect({ host: target.host, port: target.port })
    await once(socket, 'connect')
    const peer = new RawPeer(socket, id)
    const handshake = new DialHandshake(handshakeContext(id, options.cookie), target)
    peer.sendValue(handshake.hello())
    await peer.#handshake(step => handshake.receive(step), 'open')
    return peer
  }

  /**
   * Listens as node `id` on a free port; each `next()` resolves with the next
   * dialer that completed the handshake.
   */
  static async listen(options: { cookie?: string } = {}): Promise<{ id: NodeId; server: Server; next: () => Promise<RawPeer> }> {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as { port: number }).port
    const id = new NodeId('127.0.0.1', port, 99)
    const ready: Promise<RawPeer>[] = []
    const waiting: ((peer: Promise<RawPeer>) => void)[] = []
    server.on('connection', (socket: Socket) => {
      const peer = new RawPeer(socket, id)
      const handshake = new AcceptHandshake(handshakeContext(id, options.cookie))
      const done = peer
        .#handshake(frame => {
          const step = handshake.receive(frame)
          if (step.kind === 'authenticated') peer.sendValue(handshake.welcome())
          return step
        }, 'authenticated')
        .then(() => peer)
      done.catch(() => undefined)
      const resolve = waiting.shift()
      if (resolve !== undefined) resolve(done)
      else ready.push(done)
    })
    const next = (): Promise<RawPeer> => {
      const peer = ready.shift()
      if (peer !== undefined) return within(peer, 5000, 'a dialer')
      return within(new Promise<Promise<RawPeer>>(resolve => waiting.push(resolve)).then(p => p), 5000, 'a dialer')
    }
    return { id, server, next }
  }

  /** Resolves with the next frame received after the handshake. */
  async nextFrame(ms = 5000): Promise<unknown> {
    await until(() => this.frames.length > 0, ms, 'a frame from the node')
    return this.frames.shift()
  }

  /** Sends `value` as one well-formed frame. */
  sendValue(value: unknown): void {
    this.socket.write(Buffer.from(encodeFrame(value, 64 * 1024 * 1024)))
  }

  /** Stops reading, so the other side's writes pile up. */
  stall(): void {
    this.socket.pause()
  }

  /** Reads again after `stall`. */
  resume(): void {
    this.socket.resume()
  }

  destroy(): void {
    this.socket.destroy()
  }

  async #handshake(step: (frame: unknown) => HandshakeStep, goal: HandshakeStep['kind']): Promise<void> {
    const decoder = new FrameDecoder(1024)
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        decoder.push(chunk, (buffer, start, end) => {
          const result = step(decodeValue(buffer, start, end))
          if (result.kind === 'reply' || result.kind === 'hello') this.sendValue(result.frame)
          else if (result.kind === goal) {
            this.socket.off('data', onData)
            resolve()
            return false
          } else reject(new Error(`handshake ended with ${result.kind}`))
          return true
        })
      }
      this.socket.on('data', onData)
      this.socket.once('close', () => reject(new Error('closed during the handshake')))
    })
    this.socket.on('data', chunk =>
      this.decoder.push(chunk, (buffer, start, end) => {
        this.frames.push(decodeValue(buffer, start, end))
      }),
    )
  }
}

/** What a hand-driven handshake needs: a fresh nonce, no TLS. */
export function handshakeContext(self: NodeId, cookie: string | undefined): HandshakeContext {
  return { self, cookie, nonce: randomBytes(NONCE_SIZE), binding: undefined }
}

const FIXTURE = fileURLToPath(new URL('./fixtures/node-process.js', import.meta.url))

/** A node running in a child OS process (see fixtures/node-process.ts). */
export interface ChildNode {
  readonly child: ChildProcess
  readonly id: NodeId
  /** Its process registered as `'echo'`: replies `body` to `reply` for every `{ reply, body }`. */
  readonly echo: ProcessId
  /** SIGKILLs it (if still running) and waits for it to exit. */
  kill(): Promise<void>
}

/** Options of a child node: what `Node.start` takes that JSON can carry. */
export type ChildNodeOptions = Pick<NodeOptions, 'port' | 'cookie' | 'handshakeTimeout' | 'maxHandshakes' | 'maxHandshakesPerAddress'>

/**
 * Starts a node in a child process; `options` go to `Node.start` there. With
 * `fdLimit`, the child may open at most that many file descriptors (`ulimit -n`).
 */
export async function startChildNode(options: ChildNodeOptions = {}, limits: { fdLimit?: number } = {}): Promise<ChildNode> {
  const stdio: StdioOptions = ['ignore', 'inherit', 'inherit', 'ipc']
  const child =
    limits.fdLimit === undefined
      ? fork(FIXTURE, [JSON.stringify(options)], { stdio })
      : spawn('sh', ['-c', `ulimit -n ${limits.fdLimit} && exec "$0" "$@"`, process.execPath, FIXTURE, JSON.stringify(options)], { stdio })
  const exited = once(child, 'exit')
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }
  try {
    const [ready] = (await within(once(child, 'message'), 10_000, 'the child node to start')) as [{ id: string; echo: string }]
    return { child, id: NodeId.parse(ready.id), echo: ProcessId.parse(ready.echo), kill }
  } catch (error) {
    await kill()
    throw error
  }
}
