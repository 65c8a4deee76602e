import { fourLetterWord, parseMode } from './four-letter.js'
import { waitFor } from './wait.js'

/** A ZooKeeper server in a container. */
export interface ZkContainer {
  connectString: string
  stop(): Promise<void>
}

/**
 * Start the official `zookeeper:3.8` image through Testcontainers (imported only here, on
 * demand), configured like the kit's local servers, and resolve once it serves.
 */
export async function startZooKeeperContainer(
  { tickTime, maxSessionTimeout }: { tickTime: number; maxSessionTimeout: number },
): Promise<ZkContainer> {
  const { GenericContainer } = await import('testcontainers')
  const container = await new GenericContainer('zookeeper:3.8')
    .withExposedPorts(2181)
    .withEnvironment({
      ZOO_TICK_TIME: String(tickTime),
      ZOO_MAX_CLIENT_CNXNS: '0',
      ZOO_4LW_COMMANDS_WHITELIST: '*',
      ZOO_ADMINSERVER_ENABLED: 'false',
      ZOO_CFG_EXTRA: `extendedTypesEnabled=true maxSessionTimeout=${maxSessionTimeout}`,
      JVMFLAGS: '-Dznode.container.checkIntervalMs=500',
    })
    .start()
  const host = container.getHost()
  const port = container.getMappedPort(2181)
  await waitFor('the ZooKeeper container to serve', async () =>
    parseMode(await fourLetterWord(host, port, 'srvr', 1000).catch(() => '')) !== null, { timeoutMs: 60_000 })
  return { connectString: `${host}:${port}`, stop: async () => { await container.stop() } }
}
