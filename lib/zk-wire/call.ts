import type { PendingRequest } from './connection.js'
import { Code, ZkError, withCallerStack } from './errors.js'
import type { Operation } from './operations.js'

/** A request on its way: encoded on a connection, or waiting for one. Settles its promise exactly once. */
export class Call<Res> implements PendingRequest {
  xid = 0
  settled = false
  constructor(
    readonly op: Operation<any, any>,
    readonly req: unknown,
    readonly path: string | undefined,
    private readonly resolve: (value: Res) => void,
    private readonly reject: (error: Error) => void,
    private readonly origin: { stack?: string } | undefined,
    private readonly onReply: ((err: number, value: any) => Res) | undefined,
  ) {}

  complete(err: number, value: unknown): void {
    if (this.settled) return
    this.settled = true
    if (this.onReply !== undefined) {
      try {
        this.resolve(this.onReply(err, value))
      } catch (e) {
        this.reject(typeof e === 'number' ? this.error(e) : (e as Error))
      }
    } else if (err === 0) {
      this.resolve(value as Res)
    } else {
      this.reject(this.error(err))
    }
  }

  fail(code: number, cause?: Error): void {
    if (this.settled) return
    this.settled = true
    this.reject(this.error(code, cause))
  }

  error(code: number, cause?: Error): ZkError {
    const message = cause !== undefined && code === Code.CONNECTIONLOSS ? `connection lost: ${cause.message}` : undefined
    const opts: { op: string; path?: string; message?: string; cause?: unknown } = { op: this.op.name, cause }
    if (this.path !== undefined) opts.path = this.path
    if (message !== undefined) opts.message = message
    return withCallerStack(new ZkError(code, opts), this.origin)
  }
}
