import { randomBytes } from 'node:crypto'
import { suite, type Test } from 'uvu'
import { stopChildrenAtExit } from './cleanup.js'
import { containerRuntimeAnswers } from './container-runtime.js'
import { startEnsemble, type Ensemble } from './ensemble.js'
import { startZooKeeperContainer } from './zk-container.js'
import { findZooKeeperInstall } from './zk-install.js'

/** Where the shared test server came from. */
export type ZooKeeperSource = 'env' | 'testcontainers' | 'local'

/** The shared ZooKeeper for ordinary integration tests. */
export interface ZooKeeperHandle {
  connectString: string
  source: ZooKeeperSource
  /** The local server, when this process started it (its `logs()` help explain failures). */
  ensemble?: Ensemble
  /** Stop the server if this process started it; otherwise do nothing. */
  stop(): Promise<void>
}

/** Printed (or thrown, under CI=true) when no ZooKeeper can be found. */
export const NO_ZOOKEEPER =
  'no ZooKeeper — set ZK_TEST_HOSTS, install Debian\'s zookeeper + JRE, or run a container engine'

/** Printed (or thrown, under CI=true) when ensembles cannot be started here. */
export const NO_LOCAL_ZOOKEEPER =
  'no local ZooKeeper to start ensembles — install Debian\'s zookeeper + JRE, or set ZOOKEEPER_HOME'

const SHARED_SERVER = { tickTime: 500, maxSessionTimeout: 60_000 }

let shared: Promise<ZooKeeperHandle | null> | undefined

/**
 * The shared ZooKeeper, found once per process, in this order:
 * 1. `ZK_TEST_HOSTS` (a connect string; the test runner sets it for every test file, with
 *    `ZK_TEST_SOURCE` saying where the server came from);
 * 2. Testcontainers (`zookeeper:3.8`), only when a container engine answers a ping;
 * 3. a local server process from an installed ZooKeeper (`ZOOKEEPER_HOME` or Debian's).
 * Null when there is none, or when the runner already found none (`ZK_TEST_SOURCE=none`).
 */
export function getZooKeeper(): Promise<ZooKeeperHandle | null> {
  shared ??= findZooKeeper()
  return shared
}

async function findZooKeeper(): Promise<ZooKeeperHandle | null> {
  const { ZK_TEST_HOSTS: hosts, ZK_TEST_SOURCE: source } = process.env
  if (hosts) {
    const from = (['testcontainers', 'local'] as const).find(s => s === source) ?? 'env'
    return { connectString: hosts, source: from, stop: async () => {} }
  }
  if (source === 'none') return null
  if (await containerRuntimeAnswers()) {
    try {
      const container = await startZooKeeperContainer(SHARED_SERVER)
      return { connectString: container.connectString, source: 'testcontainers', stop: container.stop }
    } catch (err) {
      console.warn(`A container engine answers but the ZooKeeper container failed (${(err as Error).message}); trying a local server`)
    }
  }
  if (!findZooKeeperInstall()) return null
  const ensemble = await startEnsemble({ size: 1, ...SHARED_SERVER })
  return { connectString: ensemble.connectString, source: 'local', ensemble, stop: () => ensemble.stop() }
}

const warned = new Set<string>()

/** Print `SKIPPED: <why>` once per process, or throw under `CI=true`: CI must not pass by skipping. */
function skipOrFail(why: string): void {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${why}`)
  if (!warned.has(why)) console.log(`\n  SKIPPED: ${why}\n`)
  warned.add(why)
}

/** The same suite, with every test registered on it skipped. */
function skipAll<T>(test: Test<T>): Test<T> {
  const skip: Test<T>['skip'] = (...args) => test.skip(...args)
  return Object.assign(skip, test, { only: skip })
}

/**
 * The shared ZooKeeper, or null after printing one loud SKIPPED line (once per process).
 * Under `CI=true` a missing ZooKeeper throws instead.
 */
export async function requireZooKeeper(): Promise<ZooKeeperHandle | null> {
  const zk = await getZooKeeper()
  if (!zk) skipOrFail(NO_ZOOKEEPER)
  return zk
}

/** State of a `zkSuite`: the shared server's handle as `zk`. */
export interface ZkSuiteState {
  zk: ZooKeeperHandle
}

/**
 * A uvu suite whose tests get the shared ZooKeeper as `context.zk`. Without one, every
 * test registered on it is skipped (after the loud line of `requireZooKeeper`).
 * Use with top-level await: `const test = await zkSuite('watches')`. Every process the
 * file starts is SIGKILLed when it exits, however it exits (`stopChildrenAtExit`).
 */
export async function zkSuite<T extends object = object>(name: string, state?: T): Promise<Test<T & ZkSuiteState>> {
  stopChildrenAtExit()
  const zk = await requireZooKeeper()
  const test = suite<T & ZkSuiteState>(name, { ...state, zk } as T & ZkSuiteState)
  return zk ? test : skipAll(test)
}

/**
 * A uvu suite for tests that start their own servers with `startEnsemble` (fault tests).
 * Without a local ZooKeeper install its tests are skipped with a loud line (CI: throws).
 * Every process the file starts is SIGKILLed when it exits, as with `zkSuite`.
 */
export function ensembleSuite<T extends object = object>(name: string, state?: T): Test<T> {
  stopChildrenAtExit()
  const test = suite<T>(name, state)
  if (findZooKeeperInstall()) return test
  skipOrFail(NO_LOCAL_ZOOKEEPER)
  return skipAll(test)
}

/**
 * A fresh, unique path prefix for one test, e.g. `/t-child-watch-fires-3f9a1c07`, to use
 * as the test's chroot (`connectString + chroot(name)`; create it first) or znode prefix.
 */
export function chroot(testName = ''): string {
  const slug = testName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40)
  return `/t-${slug ? `${slug}-` : ''}${randomBytes(4).toString('hex')}`
}
