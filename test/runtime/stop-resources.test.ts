import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { realEnv, type Env, type Timer } from '../../lib/env.js'
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import { Node, NodeId, ProcessId } from '../../lib/runtime/index.js'
import { FrameDecoder } from '../../lib/runtime/transport/framing.js'
import type { LinkEvents, LinkSocket, Net } from '../../lib/runtime/transport/net.js'
import { nodeNet } from '../../lib/runtime/transport/node-net.js'
import { newCookie, sleep, until, within } from './support.js'

const test = suite('nothing outlives node.stop()')

/** The real environment, counting the timers that are pending (set, not fired, not cancelled). */
function countingEnv(): Env & { pending(): number } {
  const live = new Set<Timer>()
  return {
    ...realEnv,
    pending: () => live.size,
    setTimer(ms, fn) {
      const timer: Timer = realEnv.setTimer(ms, () => {
        live.delete(wrapper)
        fn()
      })
      const wrapper: Timer = {
        cancel: () => {
          live.delete(wrapper)
          timer.cancel()
        },
        unref: () => {
          timer.unref()
          return wrapper
        },
      }
      live.add(wrapper)
      return wrapper
    },
  }
}

/** Real sockets, counting those not yet closed, and among them those still connecting. */
function countingNet(): Net & { open(): number; connecting(): number } {
  const real = nodeNet()
  let open = 0
  let connecting = 0
  const counted = (socket: LinkSocket): LinkSocket => {
    open++
    connecting++
    let ready = false
    const attach = socket.attach.bind(socket)
    return Object.assign(socket, {
      attach: (events: LinkEvents) =>
        attach({
          ...events,
          ready: () => {
            if (!ready) connecting--
            ready = true
            events.ready()
          },
          close: () => {
            open--
            if (!ready) connecting--
            events.close()
          },
        }),
    })
  }
  return {
    open: () => open,
    connecting: () => connecting,
    connect: (host, port) => counted(real.connect(host, port)),
    listen: (host, port, events) => real.listen(host, port, { ...events, accept: socket => events.accept(counted(socket)) }),
    defer: fn => real.defer(fn),
  }
}

/**
 * A listener whose accept queue is full, so a dial to it stays in TCP connect:
 * a child process listens with a backlog of 1 and blocks its event loop (it
 * never accepts), and two connections fill the queue.
 */
async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const script = `const server = require('node:net').createServer()
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () =>
  process.send(server.address().port, () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)))`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit')
  const [port] = (await within(once(child, 'message'), 5000, 'the blackhole to listen')) as [number]
  const fillers = [connect({ host: '127.0.0.1', port }), connect({ host: '127.0.0.1', port })]
  for (const filler of fillers) filler.on('error', () => undefined)
  await Promise.all(fillers.map(filler => once(filler, 'connect')))
  return {
    port,
    close: async () => {
      for (const filler of fillers) filler.destroy()
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** A listener that accepts and never answers a hello. */
async function mute(): Promise<{ port: number; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = []
  const server = createServer(socket => sockets.push(socket))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as { port: number }).port, server, sockets }
}

/** A listener that answers every dialer with a simultaneous-connect refusal, so the dialer waits for a connection back. */
async function yielding(cookie: string): Promise<{ id: NodeId; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = []
  const server = createServer(socket => {
    sockets.push(socket)
    const decoder = new FrameDecoder(1024)
    let frames = 0
    socket.on('data', chunk =>
      decoder.push(chunk, (buffer, start, end) => {
        decodeValue(buffer, start, end)
        if (frames++ === 0) socket.write(encodeFrame(['challenge', [id.host, id.port, id.incarnation], Buffer.alloc(32, 3), true], 1024))
        else socket.write(encodeFrame(['refuse', 'simultaneous'], 1024))
      }),
    )
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const id = new NodeId('127.0.0.1', (server.address() as { port: number }).port, 5)
  void cookie
  return { id, server, sockets }
}

/** Active handles and requests of kinds a node can make (not the stdio pipes the test runner watches). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind !== 'PipeWrap' && kind !== 'TTYWrap') counts[kind] = (counts[kind] ?? 0) + 1
  }
  return counts
}

test('after stop() no timer, socket or listener of the node is left: peers mid-dial, mid-handshake (both ways), awaiting a connection back, and open', async () => {
  const before = resources()
  const cookie = newCookie()
  const env = countingEnv()
  const net = countingNet()
  const hole = await blackhole()
  const silent = await mute()
  const yielder = await yielding(cookie)
  const peer = await Node.start({ cookie })
  const node = await Node.start({ cookie, env, net, handshakeTimeout: 2000, logError: () => undefined })
  const inbound = connect({ host: '127.0.0.1', port: node.id.port })
  inbound.on('error', () => undefined)
  await once(inbound, 'connect')
  try {
    const echo = peer.spawn(async self => {
      for (;;) {
        const { reply } = await self.receive<{ reply: ProcessId }>()
        self.send(reply, 'pong')
      }
    })
    const answered = new Promise(resolve => node.spawn(async self => {
      self.send(echo, { reply: self.pid })
      resolve(await self.receive())
    }))
    assert.is(await within(answered, 5000, 'the open peer to answer'), 'pong')
    node.send(new ProcessId(new NodeId('127.0.0.1', hole.port, 1), 1), 'mid-dial')
    node.send(new ProcessId(new NodeId('127.0.0.1', silent.port, 1), 1), 'mid-handshake')
    node.send(new ProcessId(yielder.id, 1), 'awaiting')
    // Sockets: the open peer's, the dial into the full accept queue, the dial to the mute
    // listener, the inbound one; timers: the handshake timers of the last three, and the
    // timer of the peer awaiting a connection back (its dial yielded and closed).
    await until(() => net.open() === 4 && env.pending() === 4, 5000, `4 sockets and 4 timers, not ${net.open()} and ${env.pending()}`)
    assert.is(net.connecting(), 1, 'the dial into the full accept queue should still be connecting')
    await node.stop()
    assert.is(env.pending(), 0, 'timers of the node are still pending after stop()')
    assert.is(net.open(), 0, 'sockets of the node are still open after stop()')
  } finally {
    inbound.destroy()
    await node.stop()
    await peer.stop()
    await hole.close()
    for (const socket of [...silent.sockets, ...yielder.sockets]) socket.destroy()
    await new Promise(resolve => silent.server.close(resolve))
    await new Promise(resolve => yielder.server.close(resolve))
  }
  // Nothing the node made (a socket, server, timer or immediate outside env and net) is left either.
  const extra = (): string[] => Object.entries(resources()).flatMap(([kind, count]) => (count > (before[kind] ?? 0) ? [kind] : []))
  try {
    await until(() => extra().length === 0, 2000, 'the resources of the process to return to what they were')
  } catch {
    assert.equal(extra(), [], `left over: ${JSON.stringify(resources())}, before: ${JSON.stringify(before)}`)
  }
})

test('stop() right after a dial gave way in a simultaneous connect leaves no timer (the peer was awaiting a connection back)', async () => {
  const cookie = newCookie()
  const env = countingEnv()
  const yielder = await yielding(cookie)
  const node = await Node.start({ cookie, env, logError: () => undefined })
  try {
    node.send(new ProcessId(yielder.id, 1), 'awaiting')
    // The dial yielded and closed; only the awaiting timer is left.
    await until(() => yielder.sockets.length === 1 && env.pending() === 1 && node.peers().length === 0, 5000, 'the dial to give way')
    await sleep(50)
    assert.is(env.pending(), 1)
    await node.stop()
    assert.is(env.pending(), 0, 'the awaiting timer outlived stop()')
  } finally {
    await node.stop()
    for (const socket of yielder.sockets) socket.destroy()
    await new Promise(resolve => yielder.server.close(resolve))
  }
})

test.run()
