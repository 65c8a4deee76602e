import { readFileSync } from 'node:fs'

/**
 * True while process `pid` exists and is not a zombie. A killed server whose parent died
 * stays a zombie until init reaps it, and `kill(pid, 0)` alone would call it alive.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}
