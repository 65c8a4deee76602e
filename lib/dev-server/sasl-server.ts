import { createHash, randomBytes } from 'node:crypto'
import { parseDirectives } from '../zk-wire/sasl.js'

/** The realm and server name ZooKeeper's DIGEST-MD5 uses (`zk-sasl-md5`), and its service name. */
const REALM = 'zk-sasl-md5'
const DIGEST_URI = `zookeeper/${REALM}`

const md5 = (...parts: Array<string | Buffer>): Buffer => {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}
const hex = (b: Buffer): string => b.toString('hex')

/** What one step of the exchange gives: the token to send back, and the user once authenticated. */
export type SaslStep = { token: Buffer; user?: string } | { failed: string }

/**
 * The server side of SASL DIGEST-MD5 (RFC 2831, qop=auth) for one connection,
 * as ZooKeeper's SaslServer answers it: the first token (whatever it holds)
 * gets the challenge `realm="zk-sasl-md5",nonce="…",charset=utf-8,algorithm=md5-sess`;
 * the client's response is checked against the users' passwords and answered
 * with `rspauth=…`; anything after that, or a wrong response, fails.
 */
export class DigestMd5Server {
  private state: { kind: 'initial' } | { kind: 'challenged'; nonce: string } | { kind: 'done' } = { kind: 'initial' }

  constructor(private readonly users: ReadonlyMap<string, string>) {}

  step(token: Buffer): SaslStep {
    const state = this.state
    switch (state.kind) {
      case 'initial': {
        const nonce = randomBytes(30).toString('base64')
        this.state = { kind: 'challenged', nonce }
        return { token: Buffer.from(`realm="${REALM}",nonce="${nonce}",charset=utf-8,algorithm=md5-sess`) }
      }
      case 'challenged':
        this.state = { kind: 'done' }
        return this.verify(parseDirectives(token.toString('utf8')), state.nonce)
      case 'done':
        return { failed: 'the exchange is already complete' }
    }
  }

  private verify(d: Map<string, string>, nonce: string): SaslStep {
    const user = d.get('username')
    const password = user === undefined ? undefined : this.users.get(user)
    if (user === undefined || password === undefined) return { failed: `unknown user ${JSON.stringify(user ?? '')}` }
    const realm = d.get('realm') ?? ''
    const cnonce = d.get('cnonce')
    const nc = d.get('nc')
    const qop = d.get('qop') ?? 'auth'
    const uri = d.get('digest-uri')
    if (d.get('nonce') !== nonce || cnonce === undefined || nc === undefined || qop !== 'auth' || uri !== DIGEST_URI || realm !== REALM) {
      return { failed: 'malformed DIGEST-MD5 response' }
    }
    const authzid = d.get('authzid')
    const a1 = Buffer.concat([md5(`${user}:${realm}:${password}`), Buffer.from(`:${nonce}:${cnonce}${authzid === undefined ? '' : `:${authzid}`}`)])
    const ha1 = hex(md5(a1))
    const kd = (a2: string): string => hex(md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${hex(md5(a2))}`))
    if (d.get('response') !== kd(`AUTHENTICATE:${uri}`)) return { failed: `wrong password for ${user}` }
    return { token: Buffer.from(`rspauth=${kd(`:${uri}`)}`), user }
  }
}
