import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import type { JuteWriter } from '../../lib/zk-wire/jute.js'
import { OpCode } from '../../lib/zk-wire/operations.js'
import { RawSession } from '../support/raw-session.js'
import { zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'

/**
 * A server without SASL configured, as ZooKeeper 3.8 is by default: every
 * token gets a null token and no error, and SASL or auth packets do not keep
 * a session alive (ZooKeeper answers them outside its request pipeline).
 */
const test = await zkSuite<{ dev: DevServer }>('conformance: SASL tokens to a server without SASL')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

/** How a session fares when it sends only `opcode` packets (every 100 ms) for 3 s with a 1 s timeout. */
async function keptAlive(address: string, opcode: number): Promise<{ answer: unknown; closedWithin: string }> {
  const s = await RawSession.open(address, { timeout: 1000 })
  try {
    const body = opcode === OpCode.sasl ? (w: JuteWriter) => void w.buffer(Buffer.alloc(0)) : (w: JuteWriter) => void w.int(0).string('digest').buffer(Buffer.from('u:p'))
    const xid = opcode === OpCode.auth ? -4 : 1
    s.send(xid, opcode, body)
    const first = await s.next(1000)
    const answer = first && { err: first.err, body: first.bodyHex }
    const started = Date.now()
    for (;;) {
      await new Promise((r) => setTimeout(r, 100))
      if (s.closed) break
      if (Date.now() - started > 3000) return { answer, closedWithin: 'open after 3 s' }
      s.send(xid, opcode, body)
    }
    return { answer, closedWithin: Date.now() - started < 2500 ? 'the session timeout' : 'too late' }
  } finally {
    s.close()
  }
}

test('SASL tokens get a null token; neither SASL nor auth packets keep a session alive', async ({ zk, dev }) => {
  const results = await Promise.all(
    [zk.connectString.split(',')[0]!, dev.connectString].map(async (server) => {
      const [sasl, auth] = await Promise.all([keptAlive(server, OpCode.sasl), keptAlive(server, OpCode.auth)])
      return { sasl, auth }
    }),
  )
  assert.equal(results[1], results[0])
  assert.equal(results[0], {
    sasl: { answer: { err: 0, body: 'ffffffff' }, closedWithin: 'the session timeout' },
    auth: { answer: { err: 0, body: '' }, closedWithin: 'the session timeout' },
  })
})

test.run()
