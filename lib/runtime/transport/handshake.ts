import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { TransportError } from '../errors.js'
import { NodeId } from '../ids.js'

/** Identifies the protocol in the first frame a dialer sends. */
export const PROTOCOL = 'zkcloud'
/** Bumped on any incompatible change of frames or handshake. */
export const PROTOCOL_VERSION = 1
/** Handshake frames are small; anything larger before authentication is hostile. */
export const HANDSHAKE_MAX_FRAME = 1024
/** Why an acceptor refuses a dialer whose own connection loses a simultaneous connect. */
export const REFUSE_SIMULTANEOUS = 'simultaneous'

const NONCE_SIZE = 32

/**
 * What to do after feeding a handshake frame:
 * - `reply`: send `frame`, wait for the next one;
 * - `authenticated` (acceptor): the dialer proved itself; answer with
 *   {@link AcceptHandshake.welcome} or {@link AcceptHandshake.refuse};
 * - `open` (dialer): welcomed, messages may flow;
 * - `yield` (dialer): refused because the peer's own connection to us wins a
 *   simultaneous connect; expect that one instead;
 * - `stale` (dialer): another run of the node answers at that address, so the
 *   node dialed is gone;
 * - `fail`: send `frame` if any, then drop the connection for `error`.
 */
export type HandshakeStep =
  | { readonly kind: 'reply'; readonly frame: unknown }
  | { readonly kind: 'authenticated'; readonly peer: NodeId }
  | { readonly kind: 'open'; readonly peer: NodeId }
  | { readonly kind: 'yield'; readonly peer: NodeId }
  | { readonly kind: 'stale'; readonly peer: NodeId }
  | { readonly kind: 'fail'; readonly error: TransportError; readonly frame?: unknown }

type NodeTuple = [host: string, port: number, incarnation: number]

/**
 * The dialing side: `hello` → (`challenge`) → `proof` → (`welcome` | `refuse`).
 * With a cookie, each side proves it holds the cookie with an HMAC-SHA256 over
 * both fresh nonces, both node ids and its role, so proofs can be neither
 * replayed nor reflected.
 */
export class DialHandshake {
  state: 'hello' | 'challenged' | 'done' = 'hello'
  readonly #nonce = randomBytes(NONCE_SIZE)

  constructor(
    readonly self: NodeId,
    readonly expected: NodeId,
    readonly cookie: string | undefined,
  ) {}

  /** The first frame to send once connected. */
  hello(): unknown {
    return [PROTOCOL, PROTOCOL_VERSION, 'hello', tuple(this.self), this.#nonce]
  }

  receive(frame: unknown): HandshakeStep {
    if (this.state === 'hello') return this.#challenge(frame)
    if (this.state === 'challenged') return this.#verdict(frame)
    return fail('handshake frame after the handshake')
  }

  #challenge(frame: unknown): HandshakeStep {
    if (!Array.isArray(frame) || frame[0] === 'refuse') return this.#refused(frame)
    const [tag, nodeFields, nonce, proof] = frame
    if (frame.length !== 4 || tag !== 'challenge' || !is32Bytes(nonce)) return fail('malformed challenge')
    const peer = toNodeId(nodeFields)
    if (peer === null) return fail('malformed node id in challenge')
    if (peer.host !== this.expected.host || peer.port !== this.expected.port) {
      return fail(`dialed ${this.expected.key} but ${peer.key} answered`)
    }
    this.state = 'done'
    if (peer.incarnation !== this.expected.incarnation) return { kind: 'stale', peer }
    if (this.cookie !== undefined) {
      if (!is32Bytes(proof)) return fail(`${peer.key} has no cookie`, ['refuse', 'a cookie is required'])
      const expected = prove(this.cookie, 'acceptor', this.self, peer, this.#nonce, nonce)
      if (!timingSafeEqual(proof, expected)) {
        return fail(`cookie mismatch: ${peer.key} proved a different cookie`, ['refuse', 'cookie mismatch'])
      }
    }
    this.state = 'challenged'
    const ours = this.cookie === undefined ? null : prove(this.cookie, 'dialer', this.self, peer, this.#nonce, nonce)
    return { kind: 'reply', frame: ['proof', ours] }
  }

  #verdict(frame: unknown): HandshakeStep {
    this.state = 'done'
    if (Array.isArray(frame) && frame.length === 1 && frame[0] === 'welcome') return { kind: 'open', peer: this.expected }
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
  readonly #nonce = randomBytes(NONCE_SIZE)
  #peer: NodeId | null = null
  #peerNonce: Buffer | null = null

  constructor(
    readonly self: NodeId,
    readonly cookie: string | undefined,
  ) {}

  receive(frame: unknown): HandshakeStep {
    if (this.state === 'hello') return this.#hello(frame)
    if (this.state === 'challenged') return this.#proof(frame)
    this.state = 'done'
    return fail('unexpected frame during the handshake')
  }

  /** The frame admitting an authenticated dialer. */
  welcome(): unknown {
    this.state = 'done'
    return ['welcome']
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
    if (peer.equals(this.self)) return fail('peer claims to be this node', ['refuse', 'same node id'])
    this.#peer = peer
    this.#peerNonce = Buffer.from(frame[4])
    this.state = 'challenged'
    const proof = this.cookie === undefined ? null : prove(this.cookie, 'acceptor', peer, this.self, this.#peerNonce, this.#nonce)
    return { kind: 'reply', frame: ['challenge', tuple(this.self), this.#nonce, proof] }
  }

  #proof(frame: unknown): HandshakeStep {
    this.state = 'done'
    const peer = this.#peer as NodeId
    if (!Array.isArray(frame) || frame.length !== 2) return fail('malformed proof')
    if (frame[0] === 'refuse' && typeof frame[1] === 'string') {
      return fail(`${peer.key} refused the connection: ${frame[1].slice(0, 200)}`)
    }
    if (frame[0] !== 'proof') return fail('malformed proof')
    if (this.cookie !== undefined) {
      const proof: unknown = frame[1]
      if (!is32Bytes(proof)) {
        return fail(`${peer.key} sent no cookie proof (it has no cookie)`, ['refuse', 'a cookie is required'])
      }
      const expected = prove(this.cookie, 'dialer', peer, this.self, this.#peerNonce as Buffer, this.#nonce)
      if (!timingSafeEqual(proof, expected)) {
        return fail(`cookie mismatch: ${peer.key} proved a different cookie`, ['refuse', 'cookie mismatch'])
      }
    }
    this.state = 'authenticated'
    return { kind: 'authenticated', peer }
  }
}

function prove(cookie: string, role: 'dialer' | 'acceptor', dialer: NodeId, acceptor: NodeId, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): Buffer {
  return createHmac('sha256', cookie)
    .update(`${PROTOCOL}/${PROTOCOL_VERSION} ${role} ${dialer.key} ${acceptor.key}\n`)
    .update(dialerNonce)
    .update(acceptorNonce)
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
