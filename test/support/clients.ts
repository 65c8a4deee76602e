import { ZooKeeper, type ZooKeeperOptions } from '../../lib/zk-wire/index.js'
import { chroot } from './zookeeper.js'

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

