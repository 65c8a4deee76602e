import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Process hygiene for the test kit: every child process and temp dir the kit creates is
 * registered here and removed when this process exits, however it exits (normal end,
 * uncaught exception, SIGINT, SIGTERM). The exit path is synchronous: SIGKILL and rmSync.
 */

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

/** Remove a temp dir made by `makeTempDir` now. */
export function removeTempDir(dir: string): void {
  dirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}

function cleanupNow(): void {
  for (const pid of children) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
  children.clear()
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
