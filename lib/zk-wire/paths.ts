import { Code, ZkError } from './errors.js'

/**
 * Rejects a path ZooKeeper would reject (the rules of the Java client's
 * `PathUtils.validatePath`): empty, no leading `/`, trailing `/`, empty
 * segments, `.`/`..` segments, NUL and other unprintable or reserved characters.
 * A sequential create may end with `/` (the server appends the number).
 */
export function validatePath(path: unknown, op: string, sequential = false): asserts path is string {
  const problem = pathProblem(path, sequential)
  if (problem !== null) {
    throw new ZkError(Code.BADARGUMENTS, { op, path: typeof path === 'string' ? path : String(path), message: `invalid path: ${problem}` })
  }
}

function pathProblem(path: unknown, sequential: boolean): string | null {
  if (typeof path !== 'string') return 'not a string'
  const n = path.length
  if (n === 0) return 'empty'
  if (path.charCodeAt(0) !== SLASH) return 'must start with /'
  if (n === 1) return null
  if (path.charCodeAt(n - 1) === SLASH && !sequential) return 'must not end with /'
  // One pass over the characters (this runs on every call): segments end at a slash or at the end.
  let start = 1
  for (let i = 1; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : SLASH
    if (c === SLASH) {
      const len = i - start
      if (len === 0 && !(sequential && i === n)) return 'empty segment (//)'
      if (path.charCodeAt(start) === DOT && (len === 1 || (len === 2 && path.charCodeAt(start + 1) === DOT))) {
        return `relative segment "${path.slice(start, i)}"`
      }
      start = i + 1
    } else if (c === 0) {
      return 'NUL character'
    } else if (c < 0x20 || (c > 0x7e && c < 0xa0) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) {
      return `invalid character \\u${c.toString(16).padStart(4, '0')} at ${i}`
    }
  }
  return null
}

const SLASH = 0x2f
const DOT = 0x2e

/** Prefixes a client path with the chroot (`''` for none). */
export function toServerPath(chroot: string, path: string): string {
  if (chroot === '') return path
  return path === '/' ? chroot : chroot + path
}

/** Strips the chroot from a server path; paths outside the chroot are returned unchanged. */
export function toClientPath(chroot: string, path: string): string {
  if (chroot === '' || !path.startsWith(chroot)) return path
  if (path.length === chroot.length) return '/'
  return path[chroot.length] === '/' ? path.slice(chroot.length) : path
}
