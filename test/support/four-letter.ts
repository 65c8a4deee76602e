import { connect as connectTcp, type Socket } from 'node:net'
import { connect as connectTls, type ConnectionOptions } from 'node:tls'

/**
 * Send a ZooKeeper 4-letter word (`ruok`, `srvr`, `stat`, `cons`, `isro`, `mntr`, …) over a
 * raw socket and return everything the server writes before it closes the connection.
 * With `tls`, connect through TLS (to a `secureClientPort`) with those options.
 * Rejects on connection errors and after `timeoutMs`.
 */
export function fourLetterWord(
  host: string,
  port: number,
  cmd: string,
  timeoutMs = 2000,
  tls?: ConnectionOptions,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket: Socket = tls
      ? connectTls({ host, port, ...tls }, () => socket.end(cmd))
      : connectTcp({ host, port }, () => socket.end(cmd))
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`4lw '${cmd}' to ${host}:${port}: no answer within ${timeoutMs} ms`)))
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', hadError => { if (!hadError) resolve(Buffer.concat(chunks).toString('utf8')) })
  })
}

/** The `Mode:` line of a `srvr`/`stat` answer, or null when the server is not serving. */
export function parseMode(srvr: string): string | null {
  return /^Mode: (\S+)$/m.exec(srvr)?.[1] ?? null
}
