import { readFileSync } from 'node:fs'
import { type Socket, connect } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { JuteWriter } from '../../lib/zk-wire/jute.js'
import { OpCode, writeConnectRequest } from '../../lib/zk-wire/operations.js'
import { fourLetterWord } from '../support/four-letter.js'
import { waitFor } from '../support/wait.js'
import { startCli } from '../cli/run-cli.js'

const MiB = 1024 * 1024

/** The resident set of a process, bytes. */
function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!
  return Number(/(\d+)/.exec(line)![1]) * 1024
}

/** A client that sets a recursive watch on `path` and then never reads again. */
async function stuckWatcher(port: number, path: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const w = new JuteWriter()
  let mark = w.beginFrame()
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0n, timeout: 30_000, sessionId: 0n, password: Buffer.alloc(16), readOnly: false })
  w.endFrame(mark)
  mark = w.beginFrame()
  w.int(1).int(OpCode.addWatch).string(path).int(1)
  w.endFrame(mark)
  socket.write(w.take())
  socket.on('error', () => undefined)
  // Read the replies to the handshake and addWatch, then stop.
  await new Promise((resolve) => setTimeout(resolve, 200))
  socket.pause()
  return socket
}

test('a client that stops reading while its recursive watch fires costs the server at most 64 MiB, and repeats do not add up', async () => {
  const server = startCli(['--json', 'dev-server', '--port', '0'])
  try {
    const { listening } = JSON.parse(await server.line(/listening/)) as { listening: string }
    const port = Number(listening.split(':')[1])
    const pid = server.child.pid!
    const writer = await ZooKeeper.connect(listening)
    const name = 'n'.repeat(4000)
    await writer.create('/big')
    await Promise.all(Array.from({ length: 16 }, (_, i) => writer.create(`/big/${name}${i}`)))
    const rounds: Array<{ baseline: number; peak: number; after: number }> = []
    for (let round = 0; round < 3; round++) {
      const baseline = rss(pid)
      let peak = baseline
      const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 10)
      const stuck = await stuckWatcher(port, '/big')
      // 18,000 events of ~4 KiB: about 71 MiB for a client that reads nothing, past the 64 MiB it may leave unread.
      for (let batch = 0; batch < 18; batch++) await Promise.all(Array.from({ length: 1000 }, (_, i) => writer.setData(`/big/${name}${i % 16}`, 'x')))
      await waitFor('the stuck client to be dropped', async () => /^zk_num_alive_connections\t2$/m.test(await fourLetterWord('127.0.0.1', port, 'mntr')))
      clearInterval(sampler)
      stuck.destroy()
      await new Promise((resolve) => setTimeout(resolve, 500))
      rounds.push({ baseline, peak, after: rss(pid) })
    }
    await writer.close()
    const report = rounds.map((r) => `baseline ${(r.baseline / MiB).toFixed(0)} MiB, peak +${((r.peak - r.baseline) / MiB).toFixed(0)} MiB, after ${(r.after / MiB).toFixed(0)} MiB`).join('; ')
    for (const r of rounds) assert.ok(r.peak - r.baseline <= 64 * MiB, `the server grew by more than 64 MiB for one client: ${report}`)
    // The allocator keeps some of what a round freed and reuses it: growth stops.
    assert.ok(rounds[2]!.after - rounds[0]!.after <= 32 * MiB, `memory kept climbing across rounds: ${report}`)
  } finally {
    server.child.kill('SIGKILL')
    await server.exited
  }
})

test.run()
