import { inspect } from 'node:util'

const NODE_SCHEME = 'nid://'
const PID_SCHEME = 'pid://'
const MAX_INCARNATION = 0xffff_ffff
const BAD_HOST = /[\s/[\]@?#\p{Cc}]/u

/**
 * The identity of one run of a node: the address it listens on and an
 * incarnation drawn afresh each time it starts, so that a node restarted at the
 * same address is a different node and pids of the old run never reach new
 * processes.
 *
 * Two string forms:
 * - {@link NodeId.key} `127.0.0.1:4000:2913474510` (IPv6 hosts in brackets) has no
 *   `/`, so it is usable as a ZooKeeper znode name;
 * - {@link NodeId.toString} `nid://127.0.0.1:4000:2913474510` is for display.
 *
 * {@link NodeId.parse} reads both. NodeIds travel inside messages as a msgpack
 * extension and compare with {@link NodeId.equals}, not `===`.
 */
export class NodeId {
  #key: string | undefined

  /**
   * @param host the host other nodes dial to reach this node
   * @param port its TCP port, 1–65535
   * @param incarnation which run of the node at that address, 1–2³²−1
   */
  constructor(
    readonly host: string,
    readonly port: number,
    readonly incarnation: number,
  ) {
    if (typeof host !== 'string' || host.length === 0 || host.length > 255 || BAD_HOST.test(host)) {
      throw new TypeError(`invalid node host ${JSON.stringify(host)}`)
    }
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new TypeError(`invalid node port ${port}`)
    if (!Number.isInteger(incarnation) || incarnation < 1 || incarnation > MAX_INCARNATION) {
      throw new TypeError(`invalid node incarnation ${incarnation}`)
    }
  }

  /** The znode-safe form, `host:port:incarnation`; `[host]:port:incarnation` for an IPv6 host. */
  get key(): string {
    if (this.#key === undefined) {
      const host = this.host.includes(':') ? `[${this.host}]` : this.host
      this.#key = `${host}:${this.port}:${this.incarnation}`
    }
    return this.#key
  }

  /** Whether `other` names the same run of the same node. */
  equals(other: NodeId): boolean {
    return (
      this === other ||
      (other instanceof NodeId &&
        this.incarnation === other.incarnation &&
        this.port === other.port &&
        this.host === other.host)
    )
  }

  /** The display form, `nid://host:port:incarnation`. */
  toString(): string {
    return NODE_SCHEME + this.key
  }

  /** JSON shows the display form. */
  toJSON(): string {
    return this.toString()
  }

  /** The display form as UTF-8 bytes, e.g. to store as znode data; read back with {@link NodeId.decode}. */
  encode(): Buffer {
    return Buffer.from(this.toString(), 'utf8')
  }

  [inspect.custom](): string {
    return `NodeId<${this.key}>`
  }

  /**
   * Reads `nid://host:port:incarnation` or the bare key `host:port:incarnation`.
   * @throws TypeError if `text` is neither
   */
  static parse(text: string): NodeId {
    if (typeof text !== 'string') throw new TypeError('a NodeId string is required')
    const body = text.startsWith(NODE_SCHEME) ? text.slice(NODE_SCHEME.length) : text
    const incarnationAt = body.lastIndexOf(':')
    const portAt = body.lastIndexOf(':', incarnationAt - 1)
    if (portAt <= 0) throw new TypeError(`not a node id: ${JSON.stringify(text)}`)
    let host = body.slice(0, portAt)
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    else if (host.includes(':')) throw new TypeError(`not a node id (IPv6 host without brackets): ${JSON.stringify(text)}`)
    const id = new NodeId(host, parseDecimal(body.slice(portAt + 1, incarnationAt)), parseDecimal(body.slice(incarnationAt + 1)))
    if (id.key !== body) throw new TypeError(`not a node id: ${JSON.stringify(text)}`)
    return id
  }

  /** Reads the bytes written by {@link NodeId.encode}. */
  static decode(bytes: Uint8Array): NodeId {
    return NodeId.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  }
}

/**
 * The address of a process: its node and a number unique within that node's
 * run. Pids travel inside messages (a msgpack extension) and remain usable on
 * the receiving side: send to them, monitor them, link to them.
 *
 * String forms, both read back by {@link ProcessId.parse}:
 * - {@link ProcessId.key} `127.0.0.1:4000:2913474510:7`, znode-safe;
 * - {@link ProcessId.toString} `pid://127.0.0.1:4000:2913474510:7`, for display.
 */
export class ProcessId {
  #key: string | undefined

  /**
   * @param node the node the process runs on
   * @param id its number on that node, a positive safe integer
   */
  constructor(
    readonly node: NodeId,
    readonly id: number,
  ) {
    if (!(node instanceof NodeId)) throw new TypeError('a ProcessId needs a NodeId')
    if (!Number.isSafeInteger(id) || id < 1) throw new TypeError(`invalid process number ${id}`)
  }

  /** The znode-safe form, `host:port:incarnation:id`. */
  get key(): string {
    if (this.#key === undefined) this.#key = `${this.node.key}:${this.id}`
    return this.#key
  }

  /** Whether `other` is the same process. */
  equals(other: ProcessId): boolean {
    return this === other || (other instanceof ProcessId && this.id === other.id && this.node.equals(other.node))
  }

  /** The display form, `pid://host:port:incarnation:id`. */
  toString(): string {
    return PID_SCHEME + this.key
  }

  /** JSON shows the display form. */
  toJSON(): string {
    return this.toString()
  }

  /** The display form as UTF-8 bytes, e.g. to store as znode data; read back with {@link ProcessId.decode}. */
  encode(): Buffer {
    return Buffer.from(this.toString(), 'utf8')
  }

  [inspect.custom](): string {
    return `ProcessId<${this.key}>`
  }

  /**
   * Reads `pid://host:port:incarnation:id` or the bare key.
   * @throws TypeError if `text` is neither
   */
  static parse(text: string): ProcessId {
    if (typeof text !== 'string') throw new TypeError('a ProcessId string is required')
    const body = text.startsWith(PID_SCHEME) ? text.slice(PID_SCHEME.length) : text
    const idAt = body.lastIndexOf(':')
    if (idAt <= 0) throw new TypeError(`not a process id: ${JSON.stringify(text)}`)
    return new ProcessId(NodeId.parse(body.slice(0, idAt)), parseDecimal(body.slice(idAt + 1)))
  }

  /** Reads the bytes written by {@link ProcessId.encode}. */
  static decode(bytes: Uint8Array): ProcessId {
    return ProcessId.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  }
}

/**
 * Identifies one monitor, as returned by `monitor()`; the `down` message or
 * callback for it carries the same object, so compare with `===`.
 */
export class MonitorRef {
  /** @internal */
  constructor(readonly id: number) {}

  toString(): string {
    return `#Ref<${this.id}>`
  }
}

function parseDecimal(text: string): number {
  return /^[0-9]{1,16}$/u.test(text) ? Number(text) : Number.NaN
}
