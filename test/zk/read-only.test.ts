import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { proxiedEnsembleSuite, recordStates } from '../support/proxied-ensemble.js'
import { rejection } from '../support/rejection.js'
import { waitFor } from '../support/wait.js'

const fault = proxiedEnsembleSuite('read-only mode on a real 3-server ensemble', {
  size: 3,
  readOnly: true,
  // Read-only servers can only create local sessions: ZooKeeper refuses to create global
  // sessions (and to re-attach them) in read-only mode.
  extraConfig: { localSessionsEnabled: 'true', localSessionsUpgradingEnabled: 'true' },
})

fault('losing the quorum: a new read-only session reads while writes fail fast; read-write comes back with the quorum', async (ctx) => {
  const zk = await ctx.pool.connect({ sessionTimeout: 10_000, canBeReadOnly: true, requestTimeout: 1000 })
  const session = zk.sessionId
  await zk.create('/ro', 'before')
  await zk.create('/owner', null, { mode: 'ephemeral' }) // makes the session global (local sessions are on)
  const survivor = ctx.ensemble.servers[0]!
  const others = ctx.ensemble.servers.slice(1)
  await Promise.all(others.map((s) => s.kill()))
  await waitFor('the survivor to serve read-only', async () => (await survivor.fourLetter('isro').catch(() => '')) === 'ro', { timeoutMs: 20_000 })
  // ZooKeeper refuses to move an existing (global) session to a read-only server, as
  // for the Java client: that session waits; sessions started now can read.
  const reader = await ctx.pool.connect({ sessionTimeout: 8000, canBeReadOnly: true, requestTimeout: 1000 })
  const states = recordStates(reader)
  assert.is(reader.state, 'connectedReadOnly')
  assert.is((await reader.getData('/ro')).data.toString(), 'before')
  const started = Date.now()
  assert.is((await rejection(reader.setData('/ro', 'during'))).name, 'NOTREADONLY')
  assert.ok(Date.now() - started < 500, 'a write on a read-only session fails at once')
  await rejection(ZooKeeper.connect(survivor.address, { sessionTimeout: 8000, connectTimeout: 1500 }))
  await Promise.all(others.map((s) => s.start()))
  await waitFor('read-write again', () => reader.state === 'connected' && zk.state === 'connected', { timeoutMs: 30_000, intervalMs: 100 })
  assert.equal(states.slice(-2), ['disconnected', 'connected'])
  assert.is(zk.sessionId, session, 'the existing session re-attached')
  await reader.setData('/ro', 'after')
  assert.is((await zk.getData('/ro')).data.toString(), 'after')
})


fault('close() while probing for a read-write server leaves no probe socket or timer behind', async (ctx) => {
  const survivor = ctx.ensemble.servers[0]!
  await Promise.all(ctx.ensemble.servers.slice(1).map((s) => s.kill()))
  await waitFor('the survivor to serve read-only', async () => (await survivor.fourLetter('isro').catch(() => '')) === 'ro', { timeoutMs: 20_000 })
  // A host that accepts and never answers: an `isro` probe to it waits for its own timeout.
  const silent = createServer(() => undefined)
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  try {
    const hosts = `${ctx.proxies[0]!.address},127.0.0.1:${(silent.address() as { port: number }).port}`
    const child = fileURLToPath(new URL('./fixtures/read-only-close.js', import.meta.url))
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [child, hosts], { timeout: 15_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
    )
    const left: string[] = JSON.parse(stdout.trim().split('\n').pop()!)
    assert.equal(left.filter((r) => r === 'TCPSocketWrap' || r === 'Timeout' || r === 'TCPWRAP'), [], `left after close(): ${left.join(', ')}`)
  } finally {
    silent.close()
  }
})
