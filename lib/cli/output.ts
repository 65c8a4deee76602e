import type { Writable } from 'node:stream'
import type { Stat } from '../zk-wire/index.js'

/** Stat for people (zxids and owner in hex, times as ISO dates) or for JSON (64-bit ids as decimal strings, times as epoch milliseconds). */
export function statFields(stat: Stat, forJson: boolean): Record<string, string | number> {
  const zxid = (z: bigint): string => (forJson ? z.toString() : `0x${z.toString(16)}`)
  const time = (t: bigint): string | number => (forJson ? Number(t) : new Date(Number(t)).toISOString())
  return {
    czxid: zxid(stat.czxid),
    mzxid: zxid(stat.mzxid),
    pzxid: zxid(stat.pzxid),
    ctime: time(stat.ctime),
    mtime: time(stat.mtime),
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: forJson ? stat.ephemeralOwner.toString() : `0x${stat.ephemeralOwner.toString(16)}`,
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  }
}

/** Node data for JSON: text when it is valid UTF-8, base64 otherwise. */
export function dataField(data: Buffer): { data: string; encoding: 'utf8' | 'base64' } {
  const text = data.toString('utf8')
  return Buffer.from(text, 'utf8').equals(data) ? { data: text, encoding: 'utf8' } : { data: data.toString('base64'), encoding: 'base64' }
}

/** Where a command writes: results to stdout (JSON with `--json`), problems to stderr. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: Writable,
    private readonly stderr: Writable,
  ) {}

  /** A line of text (human mode). */
  line(text = ''): void {
    this.stdout.write(`${text}\n`)
  }

  /** Raw bytes, as they are. */
  bytes(data: Buffer): void {
    this.stdout.write(data)
  }

  /** One JSON document per line. */
  value(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`)
  }

  /** `key  value` lines, keys aligned. */
  fields(fields: Record<string, string | number>): void {
    const width = Math.max(...Object.keys(fields).map((k) => k.length))
    for (const [k, v] of Object.entries(fields)) this.line(`${k.padEnd(width)}  ${v}`)
  }

  /** Whether stdout is a terminal (then `get` ends data with a newline). */
  get interactive(): boolean {
    return (this.stdout as { isTTY?: boolean }).isTTY === true
  }

  error(message: string, details: Record<string, unknown> = {}): void {
    this.stderr.write(this.json ? `${JSON.stringify({ error: message, ...details })}\n` : `zkcloud: ${message}\n`)
  }
}
