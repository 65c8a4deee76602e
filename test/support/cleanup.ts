import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isProcessAlive } from './process-alive.js'

/**
 * Process hygiene for the test kit: every child process and temp dir the kit creates is
 * registered here and removed when this process exits, however it exits (normal end,
 * uncaught exception, SIGINT, SIGTERM). So is every other process this one started (its
 * descendants, found in /proc: example programs, CLI runs, node processes of a test) once
 * `stopChildrenAtExit` ran — `zkSuite` and `ensembleSuite` call it. The exit path is
 * synchronous: SIGKILL, a wait until the killed processes are gone, and rmSync.
 */

/** How long the exit path waits for SIGKILLed servers to be gone. */
const exitWaitMs = 10_000

const children = new Set<number>()
const dirs = new Set<string>()
let installed = false

/** Register a child pid to be SIGKILLed if it still runs when this process exits. */
export function trackPid(pid: number): void {
  install()
  children.add(pid)
}

/** Forget a pid that has exited. */
export function untrackPid(pid: number): void {
  children.delete(pid)
}

/**
 * Create a temp dir (under `ZK_TEST_TMPDIR` when the test runner sets it, else the OS
 * temp dir) that is removed at exit unless `removeTempDir` removed it first.
 */
export function makeTempDir(prefix: string): string {
  install()
  const dir = mkdtempSync(join(process.env.ZK_TEST_TMPDIR ?? tmpdir(), `zkcloud-${prefix}-`))
  dirs.add(dir)
  return dir
}

/**
 * Make sure that when this process exits, however it exits, every process it started (and
 * theirs) is SIGKILLed, not only the kit's servers. Idempotent.
 */
export function stopChildrenAtExit(): void {
  install()
}

/**
 * Every live descendant of this process (children, their children…) from /proc; empty
 * where there is no /proc (the tracked servers are still killed there).
 */
function descendants(): number[] {
  const children = new Map<number, number[]>()
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // it exited meanwhile
    }
  }
  const found: number[] = []
  const queue = [process.pid]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found.filter(isProcessAlive)
}

/** Remove a temp dir made by `makeTempDir` now. */
export function removeTempDir(dir: string): void {
  dirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Block (this runs in 'exit' handlers: nothing asynchronous happens any more) until none of
 * `pids` is alive or `timeoutMs` passed. SIGKILL is asynchronous: a JVM with dozens of threads
 * needs CPU time to die, and on a loaded machine it can outlive this process by many
 * milliseconds; whoever runs the tests should find it gone once this process has exited.
 */
function waitGoneSync(pids: number[], timeoutMs: number): void {
  const nap = new Int32Array(new SharedArrayBuffer(4))
  const deadline = Date.now() + timeoutMs
  while (pids.some(isProcessAlive) && Date.now() < deadline) Atomics.wait(nap, 0, 0, 5)
}

function cleanupNow(): void {
  const killed = [...new Set([...children, ...descendants()])]
  for (const pid of killed) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
  children.clear()
  waitGoneSync(killed, exitWaitMs)
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

function install(): void {
  if (installed) return
  installed = true
  // 'exit' also fires after an uncaught exception or unhandled rejection.
  process.on('exit', cleanupNow)
  // Re-raising keeps the default outcome (exit status 128+n) after our synchronous cleanup.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupNow()
      process.kill(process.pid, signal)
    })
  }
}
