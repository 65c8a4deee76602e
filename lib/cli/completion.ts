import type { CompleterResult } from 'node:readline'
import type { ZooKeeper } from '../zk-wire/index.js'
import { commands } from './commands.js'

/** Words the shell itself understands, besides the commands. */
export const BUILTINS = ['help', 'history', 'quit', 'exit'] as const

/** How long Tab may wait for the server before offering nothing. */
const LOOKUP_MS = 1000

/** The children of `parent` whose names start with `partial`, as full paths, or none within LOOKUP_MS. */
async function pathsLike(session: () => Promise<ZooKeeper>, word: string): Promise<string[]> {
  const slash = word.lastIndexOf('/')
  const parent = slash === 0 ? '/' : word.slice(0, slash)
  const partial = word.slice(slash + 1)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), LOOKUP_MS)))
  try {
    const children = await Promise.race([session().then((zk) => zk.getChildren(parent)), late])
    const base = parent === '/' ? '' : parent
    return children
      .filter((c) => c.startsWith(partial))
      .sort()
      .map((c) => `${base}/${c}`)
  } catch {
    return []
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Tab completion for the shell: the first word from the commands, a word
 * starting with `/` from the server's znodes, a word starting with `-` from the
 * command's options.
 */
export function completer(session: () => Promise<ZooKeeper>): (line: string, callback: (err: null, result: CompleterResult) => void) => void {
  return (line, callback) => {
    const words = line.split(/\s+/)
    const word = words[words.length - 1] ?? ''
    if (words.length === 1) {
      const names = [...commands.keys(), ...BUILTINS].filter((n) => commands.get(n)?.inShell !== false && n.startsWith(word)).sort()
      callback(null, [names.length === 1 ? [`${names[0]} `] : names, word])
      return
    }
    if (word.startsWith('-')) {
      const options = commands.get(words[0]!)?.options ?? {}
      const flags = Object.entries(options).flatMap(([long, spec]) => [...(spec.short === undefined ? [] : [`-${spec.short}`]), `--${long}`])
      callback(null, [flags.filter((f) => f.startsWith(word)), word])
      return
    }
    if (!word.startsWith('/')) {
      callback(null, [[], word])
      return
    }
    void pathsLike(session, word).then((paths) => callback(null, [paths, word]))
  }
}
