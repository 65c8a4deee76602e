import { createConnection } from 'node:net'
import { createRequire } from 'node:module'
import type { HostAddress } from './hosts.js'
import type { TlsOptions } from './client.js'

/**
 * Sends a four-letter word (`ruok`, `isro`, `srvr`, …) to a server and
 * resolves with its whole answer. Servers answer only the words in their
 * `4lw.commands.whitelist`.
 */
export function fourLetterWord(address: HostAddress, word: string, timeoutMs = 2000, tls?: TlsOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls
      ? (createRequire(import.meta.url)('node:tls') as typeof import('node:tls')).connect({ host: address.host, port: address.port, ...tls } as never)
      : createConnection({ host: address.host, port: address.port })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)), timeoutMs)
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write(word))
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
