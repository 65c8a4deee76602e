import type { HostAddress } from './hosts.js'
import type { TlsOptions } from './options.js'
import { openSocket } from './sockets.js'

/**
 * Sends a four-letter word (`ruok`, `isro`, `srvr`, …) to a server and
 * resolves with its whole answer. Servers answer only the words in their
 * `4lw.commands.whitelist`.
 */
export function fourLetterWord(address: HostAddress, word: string, timeoutMs = 2000, tls?: TlsOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const { socket, ready } = openSocket(address, tls)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)), timeoutMs)
    socket.once(ready, () => socket.write(word))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
  })
}
