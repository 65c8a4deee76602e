import { createHmac, timingSafeEqual } from 'node:crypto'
import { TransportError } from '../errors.js'
import { NodeId } from '../ids.js'

/** Identifies the protocol in the first frame a dialer sends. */
export const PROTOCOL = 'zkcloud'
/**
 * Bumped on any incompatible change of frames or handshake. 2: the dialer
 * proves the cookie first; the acceptor proves it in its welcome.
 */
export const PROTOCOL_VERSION = 2
/** Handshake frames are small; anything larger before authentication is hostile. */
export const HANDSHAKE_MAX_FRAME = 1024
/** Why an acceptor refuses a dialer whose own connection loses a simultaneous connect. */
export const REFUSE_SIMULTANEOUS = 'simultaneous'
/** Bytes of a nonce and of a proof. */
export const NONCE_SIZE = 32

/** What a handshake needs from its connection. */
export interface HandshakeContext {
  /** This node. */
  readonly self: NodeId
  /** The shared secret, if this node has one. */
  readonly cookie: string | undefined
  /** A fresh random nonce ({@link NONCE_SIZE} bytes). */
  readonly nonce: Buffer
  /** The TLS session's exporter value (see `LinkSocket.channelBinding`), bound into every proof. */
  readonly binding: Buffer | undefined
}

/**
 * What to do after feeding a handshake frame:
 * - `reply`: send `frame`, wait for the next one;
 * - `hello` (acceptor): a well-formed hello arrived; send `frame`;
 * - `authenticated` (acceptor): the dialer proved itself; answer with
 *   {@link AcceptHandshake.welcome} or {@link AcceptHandshake.refuse};
 * - `open` (dialer): welcomed by a node that proved the cookie: messages may flow;
 * - `yield` (dialer): refused because the peer's own connection to us wins a
 *   simultaneous connect; expect that one instead;
 * - `stale` (dialer): another run of the node answers at that address, so the
 *   node dialed is gone;
 * - `fail`: send `frame` if any, then drop the connection for `error`.
 */
export type HandshakeStep =
  | { readonly kind: 'reply'; readonly frame: unknown }
  | { readonly kind: 'hello'; readonly frame: unknown }
  | { readonly kind: 'authenticated'; readonly peer: NodeId }
  | { readonly kind: 'open'; readonly peer: NodeId }
  | { readonly kind: 'yield'; readonly peer: NodeId }
  | { readonly kind: 'stale'; readonly peer: NodeId }
  | { readonly kind: 'fail'; readonly error: TransportError; readonly frame?: unknown }

type NodeTuple = [host: string, port: number, incarnation: number]

/**
 * The dialing side, as in Erlang's distribution handshake the first to prove
 * the cookie:
 *
 *     dialer    hello      [PROTOCOL, VERSION, 'hello', dialer id, dialer nonce]
 *     acceptor  challenge  ['challenge', acceptor id, acceptor nonce, has a cookie]
 *     dialer    proof      ['proof', HMAC(cookie, 'dialer', …) | null]
 *     acceptor  welcome    ['welcome', HMAC(cookie, 'acceptor', …) | null]  or  ['refuse', reason]
 *
 * Each proof is HMAC-SHA256 over the protocol, the prover's role, both node
 * ids, both fresh nonces and the TLS exporter value if any, so proofs can be
 * neither replayed, reflected nor relayed to another TLS session. The acceptor
 * sends nothing derived from the cookie until the dialer has proved it: a
 * probe that proves nothing learns nothing to guess the cookie from.
 */
export class DialHandshake {
  state: 'hello' | 'proved' | 'done' = 'hello'
  #peerNonce: Buffer | null = null

  constructor(
    readonly context: HandshakeContext,
    readonly expected: NodeId,
  ) {}

  /** The first frame to send once connected. */
  hello(): unknown {
    return [PROTOCOL, PROTOCOL_VERSION, 'hello', tuple(this.context.self), this.context.nonce]
  }

  receive(frame: unknown): HandshakeStep {
    if (this.state === 'hello') return this.#challenge(frame)
    if (this.state === 'proved') return this.#verdict(frame)
    return fail('handshake frame after the handshake')
  }

  #challenge(frame: unknown): HandshakeStep {
    if (!Array.isArray(frame) || frame[0] === 'refuse') return this.#refused(frame)
    this.state = 'done'
    const [tag, nodeFields, nonce, cookieRequired] = frame
    if (frame.length !== 4 || tag !== 'challenge' || !is32Bytes(nonce) || typeof cookieRequired !== 'boolean') return fail('malformed challenge')
    const peer = toNodeId(nodeFields)
    if (peer === null) return fail('malformed node id in challenge')
    if (peer.host !== this.expected.host || peer.port !== this.expected.port) {
      return fail(`dialed ${this.expected.key} but ${peer.key} answered`)
    }
    if (peer.incarnation !== this.expected.incarnation) return { kind: 'stale', peer }
    const { cookie, self } = this.context
    if (cookie !== undefined && !cookieRequired) return fail(`${peer.key} has no cookie`, ['refuse', 'a cookie is required'])
    this.state = 'proved'
    this.#peerNonce = Buffer.from(nonce)
    const proof = cookie === undefined ? null : prove(this.context, 'dialer', self, peer, this.context.nonce, this.#peerNonce)
    return { kind: 'reply', frame: ['proof', proof] }
  }

  #verdict(frame: unknown): HandshakeStep {
    this.state = 'done'
    if (Array.isArray(frame) && frame.length === 2 && frame[0] === 'welcome') {
      const { cookie, self, nonce } = this.context
      if (cookie !== undefined) {
        const proof: unknown = frame[1]
        const expected = prove(this.context, 'acceptor', self, this.expected, nonce, this.#peerNonce as Buffer)
        if (!is32Bytes(proof) || !timingSafeEqual(proof, expected)) {
          return fail(`cookie mismatch: ${this.expected.key} welcomed us without proving the cookie`)
        }
      }
      return { kind: 'open', peer: this.expected }
    }
    if (Array.isArray(frame) && frame[0] === 'refuse' && frame[1] === REFUSE_SIMULTANEOUS) {
      return { kind: 'yield', peer: this.expected }
    }
    return this.#refused(frame)
  }

  #refused(frame: unknown): HandshakeStep {
    this.state = 'done'
    if (Array.isArray(frame) && frame.length === 2 && frame[0] === 'refuse' && typeof frame[1] === 'string') {
      return fail(`${this.expected.key} refused the connection: ${frame[1].slice(0, 200)}`)
    }
    return fail('malformed handshake answer')
  }
}

/** The accepting side; see {@link DialHandshake}. */
export class AcceptHandshake {
  state: 'hello' | 'challenged' | 'authenticated' | 'done' = 'hello'
  #peer: NodeId | null = null
  #peerNonce: Buffer | null = null

  constructor(readonly context: HandshakeContext) {}

  receive(frame: unknown): HandshakeStep {
    if (this.state === 'hello') return this.#hello(frame)
    if (this.state === 'challenged') return this.#proof(frame)
    this.state = 'done'
    return fail('unexpected frame during the handshake')
  }

  /** The frame admitting an authenticated dialer: it carries this node's own proof. */
  welcome(): unknown {
    this.state = 'done'
    const { cookie, self, nonce } = this.context
    const peer = this.#peer as NodeId
    return ['welcome', cookie === undefined ? null : prove(this.context, 'acceptor', peer, self, this.#peerNonce as Buffer, nonce)]
  }

  /** The frame turning an authenticated dialer away, e.g. with {@link REFUSE_SIMULTANEOUS}. */
  refuse(reason: string): unknown {
    this.state = 'done'
    return ['refuse', reason]
  }

  #hello(frame: unknown): HandshakeStep {
    this.state = 'done'
    if (!Array.isArray(frame) || frame.length !== 5 || frame[0] !== PROTOCOL || frame[2] !== 'hello') {
      return fail('not a zkcloud hello')
    }
    if (frame[1] !== PROTOCOL_VERSION) {
      return fail(`protocol version ${String(frame[1])} is not ${PROTOCOL_VERSION}`, ['refuse', 'unsupported protocol version'])
    }
    const peer = toNodeId(frame[3])
    if (peer === null || !is32Bytes(frame[4])) return fail('malformed hello')
    const { self, nonce, cookie } = this.context
    if (peer.equals(self)) return fail('peer claims to be this node', ['refuse', 'same node id'])
    this.#peer = peer
    this.#peerNonce = Buffer.from(frame[4])
    this.state = 'challenged'
    return { kind: 'hello', frame: ['challenge', tuple(self), nonce, cookie !== undefined] }
  }

  #proof(frame: unknown): HandshakeStep {
    this.state = 'done'
    const peer = this.#peer as NodeId
    if (!Array.isArray(frame) || frame.length !== 2) return fail('malformed proof')
    if (frame[0] === 'refuse' && typeof frame[1] === 'string') {
      return fail(`${peer.key} refused the connection: ${frame[1].slice(0, 200)}`)
    }
    if (frame[0] !== 'proof') return fail('malformed proof')
    const { cookie, self, nonce } = this.context
    if (cookie !== undefined) {
      const proof: unknown = frame[1]
      if (!is32Bytes(proof)) {
        return fail(`${peer.key} sent no cookie proof (it has no cookie)`, ['refuse', 'a cookie is required'])
      }
      const expected = prove(this.context, 'dialer', peer, self, this.#peerNonce as Buffer, nonce)
      if (!timingSafeEqual(proof, expected)) {
        return fail(`cookie mismatch: ${peer.key} proved a different cookie`, ['refuse', 'cookie mismatch'])
      }
    }
    this.state = 'authenticated'
    return { kind: 'authenticated', peer }
  }
}

function prove(
  context: HandshakeContext,
  role: 'dialer' | 'acceptor',
  dialer: NodeId,
  acceptor: NodeId,
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
): Buffer {
  const { cookie, binding } = context
  return createHmac('sha256', cookie as string)
    .update(`${PROTOCOL}/${PROTOCOL_VERSION} ${role} ${dialer.key} ${acceptor.key} ${binding === undefined ? 'tcp' : 'tls'}\n`)
    .update(dialerNonce)
    .update(acceptorNonce)
    .update(binding ?? Buffer.alloc(0))
    .digest()
}

function fail(message: string, frame?: unknown): HandshakeStep {
  const error = new TransportError(`handshake failed: ${message}`)
  return frame === undefined ? { kind: 'fail', error } : { kind: 'fail', error, frame }
}

function tuple(node: NodeId): NodeTuple {
  return [node.host, node.port, node.incarnation]
}

function toNodeId(fields: unknown): NodeId | null {
  if (!Array.isArray(fields) || fields.length !== 3) return null
  try {
    return new NodeId(fields[0], fields[1], fields[2])
  } catch {
    return null
  }
}

function is32Bytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === NONCE_SIZE
}
