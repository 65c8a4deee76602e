import { builtin } from '../builtin.js'

/** SASL settings: DIGEST-MD5 with a username and password from the server's JAAS `Server` section. */
export interface SaslOptions {
  username: string
  password: string
  /** The SASL service name (`zookeeper.sasl.client.username`). Default `'zookeeper'`. */
  service?: string
  /** The server name in the digest-uri. Default `'zk-sasl-md5'`, as ZooKeeper's Java client uses. */
  serverName?: string
}

function crypto(): typeof import('node:crypto') {
  return builtin('node:crypto')
}

/** Parses `key=value,key="quoted, value"` directives (RFC 2831 §7.1). */
export function parseDirectives(text: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/gy
  let m: RegExpExecArray | null
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim())
    if (m[0] === '') break
  }
  return out
}

/**
 * The client side of SASL DIGEST-MD5 (RFC 2831) with `qop=auth`, as
 * ZooKeeper's DigestLoginModule expects it. `step(challenge)` answers each
 * server token; after the server's `rspauth` it verifies the server knew the
 * password too, and `complete` becomes true.
 */
export class DigestMd5 {
  private state: 'initial' | 'started' | 'responded' | 'complete' = 'initial'
  private expectedRspauth = ''

  constructor(
    private readonly options: SaslOptions,
    private readonly cnonce = crypto().randomBytes(24).toString('base64'),
  ) {}

  get complete(): boolean {
    return this.state === 'complete'
  }

  /**
   * The token to send for the server's `challenge`. The first call (with no
   * challenge yet) returns the empty initial response that starts the
   * exchange; a server that then answers with no challenge has no SASL
   * configured, and that throws (as the Java client fails at once).
   */
  step(challenge: Buffer): Buffer {
    if (this.state === 'initial') {
      this.state = 'started'
      return Buffer.alloc(0)
    }
    if (this.state === 'started') {
      if (challenge.length === 0) throw new Error('DIGEST-MD5: the server sent no challenge (is SASL configured on the server?)')
      this.state = 'responded'
      return Buffer.from(this.respond(parseDirectives(challenge.toString('utf8'))), 'utf8')
    }
    if (this.state === 'responded') {
      const rspauth = parseDirectives(challenge.toString('utf8')).get('rspauth')
      if (rspauth !== this.expectedRspauth) throw new Error('DIGEST-MD5: the server did not prove it knows the password (rspauth mismatch)')
      this.state = 'complete'
      return Buffer.alloc(0)
    }
    throw new Error('DIGEST-MD5: exchange already complete')
  }

  private respond(challenge: Map<string, string>): string {
    const nonce = challenge.get('nonce')
    if (!nonce) throw new Error('DIGEST-MD5: the challenge has no nonce')
    const qops = (challenge.get('qop') ?? 'auth').split(',').map((q) => q.trim())
    if (!qops.includes('auth')) throw new Error(`DIGEST-MD5: the server offers no qop=auth (${qops.join(',')})`)
    const realm = challenge.get('realm') ?? ''
    const { username, password } = this.options
    const digestUri = `${this.options.service ?? 'zookeeper'}/${this.options.serverName ?? 'zk-sasl-md5'}`
    const nc = '00000001'
    const { createHash } = crypto()
    const md5 = (...parts: Array<string | Buffer>): Buffer => {
      const h = createHash('md5')
      for (const p of parts) h.update(p)
      return h.digest()
    }
    const hex = (b: Buffer): string => b.toString('hex')
    const a1 = Buffer.concat([md5(`${username}:${realm}:${password}`), Buffer.from(`:${nonce}:${this.cnonce}`)])
    const ha1 = hex(md5(a1))
    const kd = (a2: string): string => hex(md5(`${ha1}:${nonce}:${nc}:${this.cnonce}:auth:${hex(md5(a2))}`))
    const response = kd(`AUTHENTICATE:${digestUri}`)
    this.expectedRspauth = kd(`:${digestUri}`)
    const quote = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`
    return [
      `charset=utf-8`,
      `username=${quote(username)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(nonce)}`,
      `nc=${nc}`,
      `cnonce=${quote(this.cnonce)}`,
      `digest-uri=${quote(digestUri)}`,
      `maxbuf=65536`,
      `response=${response}`,
      `qop=auth`,
    ].join(',')
  }
}
