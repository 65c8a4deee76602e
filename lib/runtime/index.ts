/**
 * zkcloud's actor runtime: nodes, processes with selective receive, monitors,
 * links, a local registry and an authenticated msgpack-over-TCP transport.
 * See docs/runtime.md.
 * @module
 */
export { Node, type NodeEvents, type NodeOptions, type NodeState } from './node.js'
export { MonitorRef, NodeId, ProcessId } from './ids.js'
export type { Process, ProcessFunction, ReceiveOptions, SpawnOptions } from './process.js'
export type { Matcher } from './mailbox.js'
export { isDown, isExit, type DownMessage, type ExitMessage, type ExitReason } from './signals.js'
export { ProcessExitError, TransportError } from './errors.js'
export { NODE_ID_EXTENSION, PROCESS_ID_EXTENSION } from './codec.js'
export type { PeerDownReason } from './transport/transport.js'
export type { NodeTlsOptions } from './transport/node-net.js'
export type { Net, LinkSocket, LinkEvents, Listener, ListenerEvents, Deferred } from './transport/net.js'
