/** The least entropy, in bits, a cookie must have: guessing it offline must stay out of reach. */
export const MIN_COOKIE_BITS = 128

/** Alphabets a random cookie is usually drawn from, smallest first. */
const ALPHABETS: readonly (readonly [size: number, pattern: RegExp])[] = [
  [10, /^[0-9]*$/],
  [16, /^[0-9a-f]*$/],
  [16, /^[0-9A-F]*$/],
  [26, /^[a-z]*$/],
  [26, /^[A-Z]*$/],
  [36, /^[0-9a-z]*$/],
  [36, /^[0-9A-Z]*$/],
  [52, /^[a-zA-Z]*$/],
  [62, /^[0-9a-zA-Z]*$/],
  [64, /^[0-9a-zA-Z_-]*$/],
  [64, /^[0-9a-zA-Z+/]*$/],
]
const PRINTABLE = /[\x20-\x7e]/

/**
 * An upper bound of a cookie's entropy in bits: its length times the bits of
 * the smallest usual alphabet holding all its characters (hex, base64,
 * printable ASCII, …; 8 bits for each character beyond printable ASCII;
 * base64 padding does not count). It cannot tell a random string from a
 * chosen one (`'a'.repeat(40)` scores high): it catches cookies that are too
 * short, not ones that are guessable for other reasons.
 */
export function cookieBits(cookie: string): number {
  const text = cookie.replace(/=+$/, '')
  const characters = [...text]
  for (const [size, pattern] of ALPHABETS) {
    if (pattern.test(text)) return characters.length * Math.log2(size)
  }
  const printable = characters.filter(character => PRINTABLE.test(character)).length
  return printable * Math.log2(95) + (characters.length - printable) * 8
}

/**
 * Checks a node's cookie.
 * @throws TypeError if it is not a string, or has less than {@link MIN_COOKIE_BITS} bits of entropy
 */
export function checkCookie(cookie: unknown): asserts cookie is string {
  if (typeof cookie !== 'string' || cookie.length === 0) throw new TypeError('cookie must be a non-empty string')
  const bits = cookieBits(cookie)
  if (bits < MIN_COOKIE_BITS) {
    throw new TypeError(
      `cookie too weak: its ${[...cookie].length} characters carry at most ${Math.floor(bits)} bits of entropy, ` +
        `at least ${MIN_COOKIE_BITS} are required so that it cannot be guessed offline; ` +
        `make one with: node -e "console.log(require('node:crypto').randomBytes(16).toString('hex'))"`,
    )
  }
}
