import type { Writable } from 'node:stream'
import type { ACL, Stat, WatchedEvent } from '../zk-wire/index.js'
import { formatACL } from './acl-text.js'

/** Stat for people (zxids and owner in hex, times as ISO dates) or for JSON (64-bit ids as decimal strings, times as epoch milliseconds). */
export function statFields(stat: Stat, forJson: boolean): Record<string, string | number> {
  const zxid = (z: bigint): string => (forJson ? z.toString() : `0x${z.toString(16)}`)
  const time = (t: number): string | number => (forJson ? t : new Date(t).toISOString())
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

/** An ACL for JSON: `{ scheme, id, perms: 'cdrwa' }` entries. */
export function aclField(acl: readonly ACL[]): Array<{ scheme: string; id: string; perms: string }> {
  return acl.map((entry) => {
    const [scheme, ...rest] = formatACL([entry]).split(':')
    const perms = rest.pop()!
    return { scheme: scheme!, id: rest.join(':'), perms }
  })
}

/**
 * Where a command writes: results to stdout (one JSON document per line with
 * `--json`), problems to stderr. Once stdout is closed by its reader (EPIPE,
 * `zkcloud tree | head`), writes are dropped and `onClosed` is called once, so
 * the command can stop and `zkcloud` exit quietly.
 */
export class Output {
  private closedByReader = false

  constructor(
    readonly json: boolean,
    private readonly stdout: Writable,
    private readonly stderr: Writable,
    private readonly onClosed: () => void = () => undefined,
  ) {
    // EPIPE in practice; any write error means nobody reads what follows.
    stdout.on('error', () => {
      if (this.closedByReader) return
      this.closedByReader = true
      this.onClosed()
    })
  }

  /** True once the reader of stdout went away. */
  get closed(): boolean {
    return this.closedByReader
  }

  private write(text: string | Buffer): void {
    if (!this.closedByReader) this.stdout.write(text)
  }

  /** A line of text (human mode). */
  line(text = ''): void {
    this.write(`${text}\n`)
  }

  /** Raw bytes, as they are. */
  bytes(data: Buffer): void {
    this.write(data)
  }

  /** One JSON document per line. */
  value(value: unknown): void {
    this.write(`${JSON.stringify(value)}\n`)
  }

  /** `key  value` lines, keys aligned. */
  fields(fields: Record<string, string | number>): void {
    const width = Math.max(...Object.keys(fields).map((k) => k.length))
    for (const [k, v] of Object.entries(fields)) this.line(`${k.padEnd(width)}  ${v}`)
  }

  /** A watch event: `NodeDataChanged /path`, or `{"type":…,"path":…}`. */
  event(e: WatchedEvent): void {
    if (this.json) this.value({ type: e.type, path: e.path })
    else this.line(`${e.type} ${e.path}`)
  }

  /** Whether stdout is a terminal (then `get` ends data with a newline). */
  get interactive(): boolean {
    return (this.stdout as { isTTY?: boolean }).isTTY === true
  }

  /** Whether stderr is a terminal: only then is progress shown. */
  get stderrIsTerminal(): boolean {
    return (this.stderr as { isTTY?: boolean }).isTTY === true
  }

  /** Writes to stderr as it is (progress lines). */
  status(text: string): void {
    this.stderr.write(text)
  }

  /** A note for people on stderr (`zkcloud: …`); nothing with `--json`, where results say it all. */
  note(message: string): void {
    if (!this.json) this.stderr.write(`zkcloud: ${message}\n`)
  }

  error(message: string, details: Record<string, unknown> = {}): void {
    this.stderr.write(this.json ? `${JSON.stringify({ error: message, ...details })}\n` : `zkcloud: ${message}\n`)
  }
}
