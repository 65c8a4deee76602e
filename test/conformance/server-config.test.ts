// test-timeout: 120
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import * as assert from 'uvu/assert'
import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'
import { ZooKeeper } from '../../lib/zk-wire/index.js'
import { OpCode } from '../../lib/zk-wire/operations.js'
import { DigestMd5 } from '../../lib/zk-wire/sasl.js'
import { makeTempDir, removeTempDir } from '../support/cleanup.js'
import { type Ensemble, startEnsemble } from '../support/ensemble.js'
import { fourLetterWord } from '../support/four-letter.js'
import { RawSession } from '../support/raw-session.js'
import { type TlsMaterial, makeTlsMaterial } from '../support/tls-material.js'
import { ensembleSuite } from '../support/zookeeper.js'

/**
 * What a configured server does — SASL users, a TLS port, the sessionless
 * connection timeout, the four-letter words — on a ZooKeeper 3.8 configured so
 * and on a dev server given the same settings: the same behaviour.
 */
const test = ensembleSuite<{ zk: Ensemble; zkTls: Ensemble; dev: DevServer; tls: TlsMaterial; dir: string }>('conformance: SASL, TLS, sessionless connections, four-letter words')

const USERS = { alice: 'wonderland' }
const SESSIONLESS_MS = 1000

test.before(async (ctx) => {
  ctx.dir = makeTempDir('conformance-config')
  // Two servers: with TLS, ZooKeeper uses its Netty connection factory, which neither
  // times out sessionless connections nor lists connections in `dump`; the plain NIO one does.
  ;[ctx.zk, ctx.zkTls] = await Promise.all([
    startEnsemble({ size: 1, sasl: { users: USERS }, jvmFlags: [`-Dzookeeper.nio.sessionlessCnxnTimeout=${SESSIONLESS_MS}`] }),
    startEnsemble({ size: 1, tls: true }),
  ])
  // The dev server gets its own certificates from the same kind of throwaway CA.
  const files = await makeTlsMaterial(ctx.dir)
  const pem = readFileSync(files.keyStore)
  ctx.tls = files.client
  ctx.dev = await startDevServer({
    port: 0,
    tickTime: 500,
    maxSessionTimeout: 60_000,
    saslUsers: USERS,
    sessionlessTimeout: SESSIONLESS_MS,
    tls: { port: 0, cert: pem, key: pem, ca: readFileSync(files.trustStore) },
  })
})
test.after(async (ctx) => {
  await ctx.dev?.close()
  await ctx.zk?.stop()
  await ctx.zkTls?.stop()
  if (ctx.dir) removeTempDir(ctx.dir)
})

/** Each scenario on both servers; the results must be equal. */
async function both<T>(ctx: { zk: Ensemble; zkTls: Ensemble; dev: DevServer; tls: TlsMaterial }, run: (server: { plain: string; secure: string; tls: TlsMaterial }) => Promise<T>): Promise<[T, T]> {
  return [
    await run({ plain: ctx.zk.connectString.split(',')[0]!, secure: ctx.zkTls.secureConnectString!.split(',')[0]!, tls: ctx.zkTls.tlsMaterial! }),
    await run({ plain: ctx.dev.connectString, secure: ctx.dev.secureConnectString!, tls: ctx.tls }),
  ]
}

test('SASL DIGEST-MD5: the user gets the sasl identity and its ACLs; a wrong password is AUTHFAILED at once', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ plain }) => {
    const alice = await ZooKeeper.connect(plain, { sasl: { username: 'alice', password: 'wonderland' } })
    const path = `/sasl-${Date.now()}`
    try {
      const identities = (await alice.whoAmI()).filter((i) => i.authScheme !== 'ip')
      await alice.create(path, 'mine', { acl: [{ perms: 31, id: { scheme: 'sasl', id: 'alice' } }] })
      const stranger = await ZooKeeper.connect(plain)
      const refused = await stranger.getData(path).then(() => 'read', (e: Error) => e.name)
      const expanded = await alice.create(`${path}-auth`, null, { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] }).then(async (p) => (await alice.getACL(p)).acl)
      await stranger.close()
      const started = Date.now()
      const wrong = await ZooKeeper.connect(plain, { sasl: { username: 'alice', password: 'nope' }, connectTimeout: 5000 }).then(
        async (zk) => (await zk.close(), 'connected'),
        (e: Error) => e.name,
      )
      return { identities, refused, expanded, wrong, fast: Date.now() - started < 2000 }
    } finally {
      await alice.close()
    }
  })
  assert.equal(dev, real)
  assert.equal(real.identities, [{ authScheme: 'sasl', user: 'alice' }])
  assert.equal([real.refused, real.wrong, real.fast], ['NOAUTH', 'AUTHFAILED', true])
})

test('SASL on the wire: the challenge, rspauth, and a token after the end is AUTHFAILED and closes', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ plain }) => {
    const s = await RawSession.open(plain)
    try {
      const client = new DigestMd5({ username: 'alice', password: 'wonderland' })
      const initial = client.step(Buffer.alloc(0))
      s.send(1, OpCode.sasl, (w) => void w.buffer(initial))
      const challenge = (await s.next())!
      const text = Buffer.from(challenge.bodyHex.slice(8), 'hex').toString()
      s.send(2, OpCode.sasl, (w) => void w.buffer(client.step(Buffer.from(text))))
      const done = (await s.next())!
      client.step(Buffer.from(done.bodyHex.slice(8), 'hex'))
      s.send(3, OpCode.sasl, (w) => void w.buffer(Buffer.alloc(0)))
      const after = (await s.next())!
      return {
        challenge: [challenge.err, text.replace(/nonce="[^"]+"/, 'nonce="…"')],
        done: [done.err, client.complete],
        after: [after.err, after.bodyHex],
        closed: (await s.next(2000).catch(() => 'open')) === null,
      }
    } finally {
      s.close()
    }
  })
  assert.equal(dev, real)
  assert.equal(real.challenge, [0, 'realm="zk-sasl-md5",nonce="…",charset=utf-8,algorithm=md5-sess'])
  assert.equal([real.after, real.closed], [[-115, 'ffffffff'], true])
})

test('SASL with a user the server does not know: AUTHFAILED and the connection closed, as ZooKeeper does (any password, the empty one too)', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ plain }) => {
    const attempt = async (username: string, password: string): Promise<unknown> => {
      const s = await RawSession.open(plain)
      try {
        const client = new DigestMd5({ username, password })
        s.send(1, OpCode.sasl, (w) => void w.buffer(client.step(Buffer.alloc(0))))
        const challenge = (await s.next())!
        s.send(2, OpCode.sasl, (w) => void w.buffer(client.step(Buffer.from(challenge.bodyHex.slice(8), 'hex'))))
        const done = (await s.next())!
        const token = done.bodyHex === 'ffffffff' || done.bodyHex === '' ? done.bodyHex : Buffer.from(done.bodyHex.slice(8), 'hex').toString()
        let proved: unknown = null
        try {
          if (done.err === 0) client.step(Buffer.from(done.bodyHex.slice(8), 'hex'))
          proved = client.complete
        } catch (err) {
          proved = (err as Error).message
        }
        const whoami = done.err === 0 ? await (async () => {
          s.send(3, OpCode.whoAmI, () => undefined)
          const r = await s.next(2000).catch(() => null)
          return r === null ? 'closed' : r.err
        })() : null
        return { err: done.err, token: token.replace(/rspauth=[0-9a-f]{32}/, 'rspauth=…'), proved, whoami, closed: (await s.next(2000).catch(() => 'open')) === null }
      } finally {
        s.close()
      }
    }
    const started = Date.now()
    const client = await ZooKeeper.connect(plain, { sasl: { username: 'mallory', password: 'x' }, connectTimeout: 5000 }).then(
      async (zk) => (await zk.close(), 'connected'),
      (e: Error) => e.name,
    )
    return { unknown: await attempt('mallory', 'x'), unknownEmpty: await attempt('mallory', ''), client, fast: Date.now() - started < 2000 }
  })
  assert.equal(dev, real)
  // Measured on 3.8: refused like a wrong password (AUTHFAILED, a null token, the connection closed), never rspauth.
  const refused = { err: -115, token: 'ffffffff', proved: false, whoami: null, closed: true }
  assert.equal(real, { unknown: refused, unknownEmpty: refused, client: 'AUTHFAILED', fast: true })
})

test('TLS port: a client with a certificate from the CA works; one without a certificate is refused', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ secure, tls }) => {
    const zk = await ZooKeeper.connect(secure, { tls: { ca: tls.ca, cert: tls.cert, key: tls.key } })
    const path = await zk.create(`/tls-${Date.now()}`, 'over tls')
    const data = (await zk.getData(path)).data.toString()
    await zk.close()
    const anonymous = await ZooKeeper.connect(secure, { tls: { ca: tls.ca }, connectTimeout: 1500 }).then(
      async (c) => (await c.close(), 'connected'),
      (e: Error) => e.name,
    )
    return { data, anonymous }
  })
  assert.equal(dev, real)
  assert.equal(real, { data: 'over tls', anonymous: 'CONNECTIONLOSS' })
})

test('a connection that never completes a handshake is closed after the sessionless timeout', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ plain }) => {
    const [host, port] = [plain.slice(0, plain.lastIndexOf(':')), Number(plain.slice(plain.lastIndexOf(':') + 1))]
    const closedAfter = (bytes: Buffer): Promise<number> =>
      new Promise((resolve) => {
        const started = Date.now()
        const socket = connect({ host, port }, () => socket.write(bytes))
        socket.on('error', () => undefined)
        socket.on('close', () => resolve(Date.now() - started))
        setTimeout(() => socket.destroy(), 8000).unref()
      })
    const [silent, partial] = await Promise.all([closedAfter(Buffer.alloc(0)), closedAfter(Buffer.from([0, 0, 0, 44, 0, 0]))])
    return { silent: silent < 5000, partial: partial < 5000 }
  })
  assert.equal(dev, real)
  assert.equal(real, { silent: true, partial: true })
})

test('four-letter words: envi, conf, cons, stat, wchs and dump say the same things', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ plain }) => {
    const [host, port] = [plain.slice(0, plain.lastIndexOf(':')), Number(plain.slice(plain.lastIndexOf(':') + 1))]
    const zk = await ZooKeeper.connect(plain)
    const base = `/fourletter-${Date.now()}`
    try {
      await zk.create(base, 'x')
      await zk.create(`${base}/e`, 'x', { mode: 'ephemeral' })
      await zk.getData(base, { watch: () => undefined })
      await zk.exists(`${base}/nope`, { watch: () => undefined })
      await zk.addWatch(base, 'persistentRecursive')
      const word = (w: string): Promise<string> => fourLetterWord(host, port, w)
      const sid = `0x${zk.sessionId.toString(16)}`
      const envi = await word('envi')
      const conf = await word('conf')
      const cons = await word('cons')
      const stat = await word('stat')
      const wchs = await word('wchs')
      const dump = await word('dump')
      const mine = cons.split('\n').find((l) => l.includes(`sid=${sid}`)) ?? ''
      return {
        envi: [/^Environment:\nzookeeper\.version=3\.8\.0/.test(envi), /^host\.name=/m.test(envi), /^user\.dir=/m.test(envi)],
        conf: conf.split('\n').filter((l) => l.includes('=')).map((l) => l.slice(0, l.indexOf('='))).filter((k) => !/Size$/.test(k) && k !== 'dataLogDir'),
        confClientPort: conf.includes(`clientPort=${port}\n`),
        cons: [
          cons.split('\n').filter((l) => l.startsWith(' /')).length,
          mine.replace(/\d+\.\d+\.\d+\.\d+:\d+/, 'ADDR').replace(/sid=0x[0-9a-f]+/, 'sid').replace(/(est|lresp)=\d+/g, '$1=T').replace(/lcxid=0x[0-9a-f]+/, 'lcxid').replace(/lzxid=0x[0-9a-f]+/, 'lzxid').replace(/(llat|minlat|avglat|maxlat)=[\d.]+/g, '$1=L'),
          cons.endsWith('\n\n'),
        ],
        // Connections of earlier words may still be closing: their number and state vary.
        stat: stat.replace(/version: .*/, 'version').replace(/Clients:\n( \/.*\n)+/, 'Clients:\n').replace(/Latency min\/avg\/max: .*/, 'latency').replace(/(Received|Sent|Zxid|Node count|Connections): .*/g, '$1'),
        wchs,
        // Which sessions, ephemerals and connections dump lists; how it groups them in expiry buckets depends on timing.
        dump: (() => {
          const norm = dump.replace(/0x[0-9a-f]+/g, (m) => (m === sid ? 'SID' : m === '0x0' ? '0x0' : 'OTHER')).replaceAll(base, 'BASE')
          const [sessions, rest] = norm.split('ephemeral nodes dump:\n') as [string, string]
          const [ephemerals, connections] = rest.split('Connections dump:\n') as [string, string]
          return {
            sessions: [...sessions.matchAll(/^\t(\w+)$/gm)].map((m) => m[1]).sort(),
            ephemerals,
            connections: [...connections.matchAll(/sessionId: (\w+)$/gm)].map((m) => m[1]).sort(),
          }
        })(),
      }
    } finally {
      await zk.close()
    }
  })
  assert.equal(dev, real)
  assert.equal(real.wchs, '1 connections watching 2 paths\nTotal watches:2\n')
})

test('four-letter words wchc and wchp: the data watches by session and by path', async (ctx) => {
  const [real, dev] = await both(ctx, async ({ plain }) => {
    const [host, port] = [plain.slice(0, plain.lastIndexOf(':')), Number(plain.slice(plain.lastIndexOf(':') + 1))]
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => ZooKeeper.connect(plain)))
    const base = `/watchers-${Date.now()}`
    try {
      await a.create(base, 'x')
      await a.create(`${base}/k`, 'x')
      await a.getData(base, { watch: () => undefined })
      await a.exists(`${base}/nope`, { watch: () => undefined })
      await a.getChildren(base, { watch: () => undefined })
      await b.getData(base, { watch: () => undefined })
      await b.addWatch(`${base}/k`, 'persistent')
      let fired = false
      await c.getData(`${base}/k`, { watch: () => (fired = true) })
      await a.setData(`${base}/k`, 'y')
      while (!fired) await new Promise((r) => setTimeout(r, 20))
      const wchc = await fourLetterWord(host, port, 'wchc')
      const wchp = await fourLetterWord(host, port, 'wchp')
      const names = new Map([a, b, c].map((zk, i) => [`0x${zk.sessionId.toString(16)}`, 'ABC'[i]!]))
      const norm = (text: string): string => text.replace(/0x[0-9a-f]+/g, (m) => names.get(m) ?? 'OTHER').replaceAll(base, 'BASE')
      /** Blocks of a head line and its tab-indented lines, the tab lines sorted, the blocks sorted. */
      const blocks = (text: string, keep: (head: string) => boolean): string[][] => {
        const out: string[][] = []
        for (const line of norm(text).split('\n').filter((l) => l !== '')) {
          if (!line.startsWith('\t')) out.push([line])
          else out.at(-1)?.push(line.slice(1))
        }
        return out.filter(([head]) => keep(head!)).map(([head, ...rest]) => [head!, ...rest.sort()]).sort((x, y) => x[0]!.localeCompare(y[0]!))
      }
      return {
        wchc: blocks(wchc, (h) => 'ABC'.includes(h)),
        wchp: blocks(wchp, (h) => h.startsWith('BASE')),
        endings: [wchc.endsWith('\n\n') || wchc === '\n', wchp.endsWith('\n\n') || wchp === '\n'],
      }
    } finally {
      await Promise.all([a, b, c].map((zk) => zk.close()))
    }
  })
  assert.equal(dev, real)
  assert.equal(real.wchc, [['A', 'BASE', 'BASE/nope'], ['B', 'BASE', 'BASE/k'], ['C']], 'a fired one-shot watch leaves its session listed with no paths')
  assert.equal(real.wchp, [['BASE', 'A', 'B'], ['BASE/k', 'B'], ['BASE/nope', 'A']])
})

test.run()
