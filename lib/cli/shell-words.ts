import { UsageError } from './command.js'

/**
 * Splits a shell line into words as a POSIX shell would for plain words:
 * whitespace separates, '…' keeps everything literally, "…" keeps spaces and
 * honours \" and \\, a backslash outside quotes escapes the next character.
 * An unclosed quote is a UsageError.
 */
export function shellWords(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end === -1) throw new UsageError("unclosed ' quote")
      word += line.slice(i + 1, end)
      inWord = true
      i = end
    } else if (c === '"') {
      inWord = true
      for (i++; ; i++) {
        if (i >= line.length) throw new UsageError('unclosed " quote')
        const d = line[i]!
        if (d === '"') break
        if (d === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]
        else word += d
      }
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}
