import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { JuteReader, JuteWriter } from '../zk-wire/jute.js'
import { ProtocolError } from '../zk-wire/errors.js'
import { readACLs, readStat, writeACLs, writeStat } from '../zk-wire/records.js'
import type { Processor } from './processor.js'

const MAGIC = 0x5a4b4453 // "ZKDS"
const FORMAT = 1
const FILE = 'snapshot.zkds'
/** Changes are written this long after the first one, so a burst of writes makes one snapshot. */
const SAVE_DELAY_MS = 500

/**
 * The server's state in jute: the last zxid; every node, parents first, with
 * its data, ACL and Stat (holding the persisted cversion and owner, see
 * `ZNode`); every session with its password and timeout.
 */
export function encodeSnapshot(p: Processor): Buffer {
  const w = new JuteWriter()
  w.int(MAGIC).int(FORMAT).long(p.zxid)
  w.int(p.tree.nodes.size)
  for (const [path, n] of p.tree.nodes) {
    w.string(path).buffer(n.data)
    writeACLs(w, n.acl)
    const { czxid, mzxid, ctime, mtime, version, cversion, aversion, owner: ephemeralOwner, pzxid } = n
    writeStat(w, { czxid, mzxid, ctime: Number(ctime), mtime: Number(mtime), version, cversion, aversion, ephemeralOwner, dataLength: 0, numChildren: 0, pzxid })
  }
  const sessions = [...p.sessions.all()]
  w.vector(sessions, (x, s) => x.long(s.id).buffer(s.password).int(s.timeout))
  return w.take()
}

/** Replaces the processor's tree, sessions and zxid with a snapshot's. Throws on a file that is not one. */
export function loadSnapshot(p: Processor, bytes: Buffer): void {
  const r = new JuteReader(bytes)
  if (r.int() !== MAGIC || r.int() !== FORMAT) throw new ProtocolError('not a zkcloud dev-server snapshot (format 1)')
  const zxid = r.long()
  const count = r.int()
  p.tree.clear()
  for (let i = 0; i < count; i++) {
    const path = r.ustring()
    const data = r.buffer()
    const acl = readACLs(r)
    const s = readStat(r)
    p.tree.attach(path, {
      data: data === null ? null : Buffer.from(data),
      acl,
      czxid: s.czxid,
      mzxid: s.mzxid,
      pzxid: s.pzxid,
      ctime: BigInt(s.ctime),
      mtime: BigInt(s.mtime),
      version: s.version,
      aversion: s.aversion,
      cversion: s.cversion,
      owner: s.ephemeralOwner,
      children: new Set(),
    })
  }
  for (const session of r.vector((x) => ({ id: x.long(), password: Buffer.from(x.buffer() ?? []), timeout: x.int() }), 16)) {
    p.sessions.restore(session.id, session.password, session.timeout)
  }
  p.zxid = zxid
}

/**
 * A snapshot file in `dir`, kept up to date: written shortly after changes
 * (atomically, by rename) and on close, read back on start.
 */
export class SnapshotFile {
  private timer: NodeJS.Timeout | null = null
  private writing: Promise<void> = Promise.resolve()
  /** Why the last write failed, until one succeeds. */
  private error: Error | null = null

  private constructor(
    private readonly dir: string,
    private readonly processor: Processor,
  ) {}

  /** Opens (creating the directory) and loads the snapshot into `processor` if there is one. */
  static async open(dir: string, processor: Processor): Promise<SnapshotFile> {
    await mkdir(dir, { recursive: true })
    let bytes: Buffer | null = null
    try {
      bytes = await readFile(join(dir, FILE))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (bytes !== null) {
      try {
        loadSnapshot(processor, bytes)
      } catch (err) {
        throw new Error(`cannot load ${join(dir, FILE)}: ${(err as Error).message}`)
      }
    }
    return new SnapshotFile(dir, processor)
  }

  /** Something changed: write a snapshot soon. */
  changed(): void {
    if (this.timer !== null) return
    this.timer = setTimeout(() => this.save(), SAVE_DELAY_MS)
    this.timer.unref()
  }

  /** Writes pending changes now and waits for every write; throws if the last write failed. */
  async flush(): Promise<void> {
    if (this.timer !== null) this.save()
    await this.writing
    if (this.error !== null) throw this.error
  }

  private save(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const bytes = encodeSnapshot(this.processor)
    const file = join(this.dir, FILE)
    this.writing = this.writing.then(async () => {
      try {
        await writeFile(`${file}.tmp`, bytes)
        await rename(`${file}.tmp`, file)
        this.error = null
      } catch (err) {
        this.error = new Error(`cannot write ${file}: ${(err as Error).message}`)
      }
    })
  }
}
