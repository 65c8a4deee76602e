// test-timeout: 120
import { execFileSync, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Node, type ProcessId } from '../../lib/runtime/index.js'
import { newCookie, sleep, startChildNode, within, type ChildNode } from './support.js'

const test = suite('connection floods')

const FLOODER = fileURLToPath(new URL('./fixtures/flooder.js', import.meta.url))
/** The target node's file descriptors, as in the report that found the lockout. */
const TARGET_FDS = 1024

interface FloodStats {
  readonly opened: number
  readonly live: number
  readonly closed: number
}

/** Starts `count` silent and slowloris sockets against `target` from another OS process; resolves once they are all open. */
async function flood(target: ChildNode, count: number) {
  const child = fork(FLOODER, [JSON.stringify({ host: target.id.host, port: target.id.port, count })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit')
  await within(once(child, 'message'), 10_000, 'the flooder to start')
  const stats = async (): Promise<FloodStats> => {
    const reply = once(child, 'message') as Promise<[FloodStats]>
    child.send('report')
    return (await within(reply, 5000, 'a flood report'))[0]
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  return { stats, stop }
}

/** How many sockets the flood can keep: 2,000, fewer if this machine's hard limit on file descriptors is lower. */
function floodSize(): number {
  const hard = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim())
  return Number.isFinite(hard) ? Math.min(2000, hard - 200) : 2000
}

/** Milliseconds until `node` gets an answer from `echo`, asking again every 100 ms (a reconnecting peer). */
async function timeToEcho(node: Node, echo: ProcessId): Promise<number> {
  const started = Date.now()
  const answered = new Promise<void>(resolve => {
    node.spawn(async self => {
      for (let attempt = 0; ; attempt++) {
        node.send(echo, { reply: self.pid, body: attempt })
        if ((await self.receive({ timeout: 100 })) !== undefined) break
      }
      resolve()
    })
  })
  await within(answered, 20_000, 'the peer to get an answer through the flood')
  return Date.now() - started
}

test('a legitimate peer from the flooding address gets through a 2,000-socket flood within 2 s (default handshakeTimeout)', async () => {
  const cookie = newCookie()
  const target = await startChildNode({ cookie }, { fdLimit: TARGET_FDS })
  const count = floodSize()
  const flooder = await flood(target, count)
  const peer = await Node.start({ cookie, logError: () => undefined })
  try {
    let stats = await flooder.stats()
    const deadline = Date.now() + 15_000
    while (stats.opened < count + 500 && Date.now() < deadline) {
      await sleep(200)
      stats = await flooder.stats()
    }
    assert.ok(stats.opened >= count, `the flood opened only ${stats.opened} of ${count} sockets`)
    const elapsed = await timeToEcho(peer, target.echo)
    const after = await flooder.stats()
    console.log(`flood of ${count} sockets (${after.opened} opened, ${after.closed} closed by the node so far): the peer got through in ${elapsed} ms`)
    assert.ok(elapsed < 2000, `the peer needed ${elapsed} ms to get through the flood`)
  } finally {
    await flooder.stop()
    await peer.stop()
    await target.kill()
  }
})

test.run()
