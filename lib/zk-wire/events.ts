/** Session states a client reports through `zk.on('state', …)` and `zk.state`. */
export type ZkState =
  | 'connecting'
  | 'connected'
  | 'connectedReadOnly'
  | 'disconnected'
  | 'expired'
  | 'authFailed'
  | 'closed'

/** Kinds of watch events (`Watcher.Event.EventType`). `None` is a session state change. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const
export type EventType = keyof typeof EventType

const eventNames = new Map<number, EventType>(Object.entries(EventType).map(([k, v]) => [v, k as EventType]))

/** The name of a numeric event type, or undefined if unknown. */
export function eventTypeName(type: number): EventType | undefined {
  return eventNames.get(type)
}

/**
 * What a watch reports. `path` is relative to the client's chroot; it is
 * `null` for session events (`type: 'None'`), whose `state` says what happened.
 */
export interface WatchedEvent {
  type: EventType
  state: ZkState
  path: string | null
}

/** A one-shot watch callback. */
export type Watcher = (event: WatchedEvent) => void
