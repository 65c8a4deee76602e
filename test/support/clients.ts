import { suite, type Test } from 'uvu'
import { ZooKeeper, type ZooKeeperOptions } from '../../lib/zk-wire/index.js'
import { findZooKeeperInstall } from './zk-install.js'
import { NO_ZOOKEEPER, chroot } from './zookeeper.js'

/**
 * Clients for one test, all closed by `closeAll()` (call it in `finally` or
 * an `after.each` hook) even when the test fails.
 */
export class ClientPool {
  private readonly clients = new Set<ZooKeeper>()

  constructor(private readonly connectString: string) {}

  /** A client on the shared server; `root` is a chroot path appended to the connect string. */
  async connect(options: ZooKeeperOptions & { root?: string } = {}): Promise<ZooKeeper> {
    const { root = '', ...rest } = options
    const zk = await ZooKeeper.connect(this.connectString + root, { sessionTimeout: 6000, ...rest })
    this.clients.add(zk)
    return zk
  }

  /** A fresh unique namespace: creates the chroot node and returns a client rooted in it. */
  async rooted(name: string, options: ZooKeeperOptions = {}): Promise<{ zk: ZooKeeper; root: string }> {
    const root = chroot(name)
    const admin = await this.connect()
    await admin.create(root)
    const zk = await this.connect({ ...options, root })
    return { zk, root }
  }

  track(zk: ZooKeeper): ZooKeeper {
    this.clients.add(zk)
    return zk
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients].map((zk) => zk.close()))
    this.clients.clear()
  }
}

/**
 * A uvu suite for tests that start their own servers (fault, TLS, SASL
 * tests): skipped with one loud line when no ZooKeeper installation is found,
 * a failure under `CI=true`.
 */
export async function ensembleSuite<T extends object = object>(name: string, state?: T): Promise<Test<T>> {
  const test = suite<T>(name, state)
  if (findZooKeeperInstall()) return test
  if (process.env.CI === 'true') throw new Error(`CI=true but ${NO_ZOOKEEPER} (needed to start servers for "${name}")`)
  console.log(`\n  SKIPPED "${name}": ${NO_ZOOKEEPER}\n`)
  const skip: Test<T>['skip'] = (...args) => test.skip(...args)
  return Object.assign(skip, test, { only: skip })
}
