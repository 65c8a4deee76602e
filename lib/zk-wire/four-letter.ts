import type { Env } from '../env.js'
import type { HostAddress } from './hosts.js'
import type { TlsOptions } from './options.js'
import { tlsConnectOptions } from './sockets.js'

/** A four-letter word on its way: its answer, and a way to drop it (its socket and timer go at once). */
export interface FourLetterQuery {
  readonly answer: Promise<string>
  cancel(): void
}

/**
 * Sends a four-letter word (`ruok`, `isro`, `srvr`, …) to a server and
 * resolves with its whole answer; rejects on a socket error, after
 * `timeoutMs`, or when cancelled. Servers answer only the words in their
 * `4lw.commands.whitelist`.
 */
export function fourLetterWord(env: Env, address: HostAddress, word: string, timeoutMs = 2000, tls?: TlsOptions): FourLetterQuery {
  let cancel!: () => void
  const answer = new Promise<string>((resolve, reject) => {
    const socket = env.connect(address.host, address.port, tls === undefined ? {} : { tls: tlsConnectOptions(address, tls) })
    const chunks: Buffer[] = []
    let done = false
    const finish = (err: Error | null): void => {
      if (done) return
      done = true
      timer.cancel()
      socket.destroy()
      if (err) reject(err)
      else resolve(Buffer.concat(chunks).toString('utf8'))
    }
    const timer = env.setTimer(timeoutMs, () => finish(new Error(`no answer to ${word} within ${timeoutMs} ms`)))
    cancel = () => finish(new Error(`${word}: cancelled`))
    socket.attach({
      ready: () => void socket.write(Buffer.from(word, 'latin1')),
      data: (c) => void chunks.push(c),
      error: (err) => finish(err),
      close: () => finish(null),
    })
  })
  answer.catch(() => undefined)
  return { answer, cancel }
}
