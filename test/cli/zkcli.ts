import { spawn } from 'node:child_process'
import { findZooKeeperInstall } from '../support/zk-install.js'

/** The node whose data separates the answers of the commands in one zkCli run. */
export const MARKER = '/zkcli-marker'
const MARK = '=====zkcli-marker====='

/** Whether zkCli (ZooKeeperMain from the installed zookeeper.jar) can run here. */
export function zkCliAvailable(): boolean {
  return findZooKeeperInstall() !== null
}

/**
 * Runs `commands` in one zkCli process (one JVM start) against `server`,
 * commands read from stdin as at its prompt, and returns each command's
 * standard output. The caller must have created {@link MARKER} (with any
 * data): a `get` of it between commands tells their outputs apart.
 */
export async function zkCli(server: string, commands: readonly string[]): Promise<string[]> {
  const install = findZooKeeperInstall()
  if (install === null) throw new Error('zkCli needs java and zookeeper.jar')
  // zookeeper.jar alone: its manifest names its dependencies, and without a log binding nothing is logged.
  const jar = install.classPath.find((p) => /zookeeper[^/]*\.jar$/.test(p))!
  const script = [`set ${MARKER} ${MARK}`, `get ${MARKER}`, ...commands.flatMap((c) => [c, `get ${MARKER}`]), 'quit', ''].join('\n')
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(install.java, ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', jar, 'org.apache.zookeeper.ZooKeeperMain', '-server', server], { stdio: ['pipe', 'pipe', 'ignore'] })
    let stdout = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')))
    child.on('error', reject)
    child.on('close', () => resolve(stdout))
    child.stdin.end(script)
  })
  const body = out.slice(out.indexOf('WatchedEvent state:SyncConnected type:None path:null'))
  const parts = body.split(`${MARK}\n`).map((p) => p.replace(/^WatchedEvent state:SyncConnected type:None path:null\n/, ''))
  // The first part precedes the first command; the last follows `quit`.
  return parts.slice(1, 1 + commands.length)
}

/** zkCli's `key = value` stat lines, by key. */
export function zkCliStat(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^(\w+) = (.*)$/gm)].map((m) => [m[1]!, m[2]!]))
}

/** zkCli's dates (`Tue Dec 01 05:29:40 UTC 2026`) as epoch seconds. */
export function zkCliSeconds(date: string): number {
  const m = /^\w{3} (\w{3}) (\d\d) (\d\d):(\d\d):(\d\d) UTC (\d{4})$/.exec(date)
  if (m === null) throw new Error(`not a zkCli date: ${date}`)
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]!)
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000
}
