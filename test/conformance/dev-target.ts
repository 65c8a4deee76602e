import { type DevServer, startDevServer } from '../../lib/dev-server/index.js'

/**
 * A dev server configured like the test kit's shared ZooKeeper (tickTime 500,
 * sessions up to 60 s, containers and TTL nodes reaped every 500 ms), so
 * negotiated timeouts and reaping match.
 */
export function startMatchingDevServer(): Promise<DevServer> {
  return startDevServer({ port: 0, tickTime: 500, maxSessionTimeout: 60_000, containerCheckInterval: 500 })
}
