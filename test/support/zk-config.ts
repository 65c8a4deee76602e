/** Where one server of an ensemble listens. */
export interface ServerPorts {
  id: number
  clientPort: number
  peerPort: number
  electionPort: number
  secureClientPort?: number
}

/** Everything that decides the configuration files and JVM arguments of one server. */
export interface ServerConfigInput {
  self: ServerPorts
  /** All members, self included; one member means standalone mode. */
  members: ServerPorts[]
  dataDir: string
  confDir: string
  tickTime: number
  syncLimit: number
  minSessionTimeout?: number
  maxSessionTimeout?: number
  extraConfig: Record<string, string>
  jvmFlags: string[]
  /** PEM files: the server's key followed by its certificate, and the CA it trusts. */
  tls?: { keyStore: string; trustStore: string }
  sasl?: { users: Record<string, string> }
  readOnly: boolean
}

/** The files to write into a server's conf dir (name → content) and the JVM arguments. */
export interface ServerConfig {
  files: Record<string, string>
  jvmArgs: string[]
}

export const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain'

/** Build zoo.cfg, the log configuration, the JAAS file and JVM flags for one server. */
export function serverConfig(input: ServerConfigInput): ServerConfig {
  const { self, members, confDir } = input
  const cfg: Record<string, string | number | undefined> = {
    tickTime: input.tickTime,
    initLimit: 10,
    syncLimit: input.syncLimit,
    dataDir: input.dataDir,
    clientPort: self.clientPort,
    clientPortAddress: '127.0.0.1',
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': '*',
    extendedTypesEnabled: 'true',
    // Every test client comes from 127.0.0.1; the default cap of 60 per address is too low.
    maxClientCnxns: 0,
    // Test data need not survive power loss; fsync per write only slows tests down.
    forceSync: 'no',
    minSessionTimeout: input.minSessionTimeout,
    maxSessionTimeout: input.maxSessionTimeout,
  }
  if (input.tls) {
    Object.assign(cfg, {
      serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
      secureClientPort: self.secureClientPort,
      secureClientPortAddress: '127.0.0.1',
      'ssl.keyStore.location': input.tls.keyStore,
      'ssl.keyStore.type': 'PEM',
      'ssl.trustStore.location': input.tls.trustStore,
      'ssl.trustStore.type': 'PEM',
    })
  }
  if (input.sasl) cfg['authProvider.1'] = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider'
  if (members.length > 1) {
    for (const m of members) cfg[`server.${m.id}`] = `127.0.0.1:${m.peerPort}:${m.electionPort}`
  }
  Object.assign(cfg, input.extraConfig)

  const files: Record<string, string> = {
    'zoo.cfg': Object.entries(cfg)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${value}\n`).join(''),
    // The process's stdout is the server's log file; one file per server, for `logs()`.
    'log4j.properties': [
      'log4j.rootLogger=INFO, CONSOLE',
      'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
      'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n',
      '',
    ].join('\n'),
    // Apache's 3.8+ tarballs (ZOOKEEPER_HOME) log through logback instead of log4j.
    'logback.xml': [
      '<configuration>',
      '  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">',
      '    <encoder><pattern>%d{ISO8601} %-5p [%t] %c{1} - %m%n</pattern></encoder>',
      '  </appender>',
      '  <root level="INFO"><appender-ref ref="CONSOLE"/></root>',
      '</configuration>',
      '',
    ].join('\n'),
  }
  const jvmArgs = [
    '-Xms16m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
    '-Dznode.container.checkIntervalMs=500',
    '-Dzookeeper.jmx.log4j.disable=true',
    // Election connects to a stalled (SIGSTOPped) peer would otherwise wait 5 s each.
    '-Dzookeeper.cnxTimeout=1000',
  ]
  if (input.readOnly) jvmArgs.push('-Dreadonlymode.enabled=true')
  if (input.sasl) {
    files['jaas.conf'] = jaasConfig(input.sasl.users)
    jvmArgs.push(`-Djava.security.auth.login.config=${confDir}/jaas.conf`)
  }
  jvmArgs.push(...input.jvmFlags)
  return { files, jvmArgs }
}

function jaasConfig(users: Record<string, string>): string {
  const quote = (s: string) => `"${s.replace(/[\\"]/g, c => `\\${c}`)}"`
  const entries = Object.entries(users).map(([user, password]) => `\n  user_${user}=${quote(password)}`)
  return `Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required${entries.join('')};\n};\n`
}
