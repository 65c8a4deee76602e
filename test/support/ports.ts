import { createServer } from 'node:net'

const handedOut = new Set<number>()

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Ports are never handed out twice
 * by one process, so servers started together cannot be given the same one.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}
