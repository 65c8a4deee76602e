import { accessSync, constants, existsSync, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** An installed ZooKeeper server that this machine can run. */
export interface ZkInstall {
  /** Absolute path of the `java` executable. */
  java: string
  /** Jars and dirs to put on the class path (after the server's own conf dir). */
  classPath: string[]
  /** Where the jars came from, for messages. */
  origin: string
}

const DEBIAN_JARS = '/usr/share/java'
// zookeeper.jar's manifest lists most dependencies; these are the ones it lacks: a log
// binding (the server's conf dir carries log4j.properties) and the Netty parts TLS needs.
const DEBIAN_EXTRA_JARS = [
  'slf4j-log4j12.jar', 'log4j-1.2.jar',
  'netty-codec.jar', 'netty-resolver.jar', 'netty-transport-native-unix-common.jar',
]

/**
 * Find a ZooKeeper server to run as local processes: `$ZOOKEEPER_HOME/lib/*.jar` (Apache's
 * binary tarball layout) or Debian's `/usr/share/java/zookeeper.jar`, plus `java` from
 * `$JAVA_HOME/bin` or `PATH`. Returns null when either is missing.
 */
export function findZooKeeperInstall(env: NodeJS.ProcessEnv = process.env): ZkInstall | null {
  const java = findJava(env)
  if (!java) return null
  const home = env.ZOOKEEPER_HOME
  if (home) {
    const lib = join(home, 'lib')
    const jars = existsSync(lib) ? readdirSync(lib).filter(name => name.endsWith('.jar')).sort() : []
    if (!jars.some(name => /^zookeeper-\d/.test(name))) return null
    return { java, classPath: jars.map(name => join(lib, name)), origin: `ZOOKEEPER_HOME=${home}` }
  }
  const main = join(DEBIAN_JARS, 'zookeeper.jar')
  if (!existsSync(main)) return null
  const extra = DEBIAN_EXTRA_JARS.map(name => join(DEBIAN_JARS, name)).filter(jar => existsSync(jar))
  return { java, classPath: [main, ...extra], origin: main }
}

function findJava(env: NodeJS.ProcessEnv): string | null {
  const dirs = [env.JAVA_HOME && join(env.JAVA_HOME, 'bin'), ...(env.PATH ?? '').split(delimiter)]
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = join(dir, 'java')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch { /* not here */ }
  }
  return null
}
