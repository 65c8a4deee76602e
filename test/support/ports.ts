import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

const handedOut = new Set<number>()

/**
 * The lowest port the kernel hands out for outgoing connections. Ports below it never
 * become some connection's local port, so a killed server can always listen on its port
 * again when restarted.
 */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 32768
  }
}

const FIRST = 10_000
const SPAN = Math.max(ephemeralLow() - FIRST, 0)

function canListen(port: number): Promise<number | null> {
  return new Promise(resolve => {
    const server = createServer()
    server.once('error', () => resolve(null))
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number }
      server.close(() => resolve(bound))
    })
  })
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, picked at random below the
 * ephemeral range (see `ephemeralLow`). Never the same port twice in one process.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const candidate = SPAN > 1000 ? FIRST + Math.floor(Math.random() * SPAN) : 0
    const port = await canListen(candidate)
    if (port !== null && !handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}
