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
  if (path.length === 0) return 'empty'
  if (path[0] !== '/') return 'must start with /'
  if (path.length === 1) return null
  if (path.endsWith('/') && !sequential) return 'must not end with /'
  const segments = path.slice(1).split('/')
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!
    if (s === '' && !(sequential && i === segments.length - 1)) return 'empty segment (//)'
    if (s === '.' || s === '..') return `relative segment "${s}"`
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 0) return 'NUL character'
    if ((c > 0 && c < 0x20) || (c > 0x7e && c < 0xa0) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) {
      return `invalid character \\u${c.toString(16).padStart(4, '0')} at ${i}`
    }
  }
  return null
}

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
