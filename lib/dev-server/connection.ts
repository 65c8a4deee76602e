import type { Operation } from '../zk-wire/operations.js'
import type { AuthInfo } from './auth-info.js'
import type { Watcher } from './watch-manager.js'

/** What the request processor needs of a client connection; `server.ts` implements it over a socket. */
export interface ClientConnection extends Watcher {
  /** The attached session, 0n before the handshake. */
  sessionId: bigint
  readonly authInfo: AuthInfo
  /** The peer's IP address, as the `ip` scheme sees it. */
  readonly address: string
  /** Queues a reply frame: the header and, with `op`, its reply body. */
  reply<Res>(xid: number, zxid: bigint, err: number, op?: Operation<unknown, Res>, res?: Res): void
  /** Queues the handshake reply. */
  accept(timeout: number, sessionId: bigint, password: Buffer, withReadOnly: boolean): void
  /** Sends what is queued, then closes. */
  end(): void
  /** Closes at once. */
  destroy(): void
}
