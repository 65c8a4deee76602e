import { readdirSync, readFileSync } from 'node:fs'

/** The one-letter state of `/proc/<path>/stat` (R, S, D, T, t, Z, X…), or undefined if it is gone. */
function procState(path: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${path}/stat`, 'utf8')
    return stat.charAt(stat.lastIndexOf(')') + 2)
  } catch {
    return undefined
  }
}

/**
 * True while process `pid` exists and is not a zombie. A killed server whose parent died
 * stays a zombie until init reaps it, and `kill(pid, 0)` alone would call it alive.
 */
export function isProcessAlive(pid: number): boolean {
  const state = procState(String(pid))
  if (state !== undefined) return state !== 'Z' && state !== 'X'
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * True once every thread of process `pid` is stopped (SIGSTOP). `kill(pid, SIGSTOP)` returns
 * before that: the kernel wakes one thread to take the signal, and only when that thread gets
 * a CPU does it stop the others — on a loaded machine the rest of a JVM (its selector
 * thread answering a 4-letter word, say) can run on for tens of milliseconds. Without
 * `/proc` (not Linux) this cannot be known and answers true.
 */
export function isProcessStopped(pid: number): boolean {
  let threads: string[]
  try {
    threads = readdirSync(`/proc/${pid}/task`)
  } catch {
    return procState(String(pid)) === undefined
  }
  // A thread that exited between readdir and read has no state: it runs nothing.
  return threads.every(tid => {
    const state = procState(`${pid}/task/${tid}`)
    return state === undefined || state === 'T' || state === 't' || state === 'Z' || state === 'X'
  })
}
