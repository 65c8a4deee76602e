/**
 * How a lock-like recipe orders its candidate znodes and decides who holds
 * (Curator's `LockInternalsDriver`). Every candidate of one path must use the
 * same order, or two could each think they come first.
 */
export interface QueueRule {
  /** The name after the protected prefix; ZooKeeper appends the sequence number (`'lock-'` → `_c_<uuid>-lock-0000000007`). */
  readonly base: string
  /** The sort key of a child's name. */
  key(name: string): string
  /**
   * Whether `ours` holds, given every child sorted by `key`. If not: the
   * child to watch, and whether its deletion alone makes `ours` the holder
   * (true when nothing but the watched node stands in the way: candidates
   * created later always sort after `ours`).
   */
  decide(sorted: readonly string[], ours: string): Decision
}

/** The outcome of {@link QueueRule.decide}. */
export type Decision = { holds: true } | { holds: false; watch: string; next: boolean }

/**
 * Curator's `StandardLockInternalsDriver.fixForSorting`: the part after the
 * last occurrence of `marker` (the sequence number), or the whole name. kazoo's
 * lock names (`<hex>__lock__<seq>`) sort by their sequence number too, so a
 * kazoo `Lock` given `extra_lock_patterns=['-lock-']` queues with ours.
 */
export function sequenceKey(name: string, marker: string): string {
  const at = name.lastIndexOf(marker)
  if (at >= 0) return name.slice(at + marker.length)
  const kazoo = /__lock__(-?\d{10})$/.exec(name)
  return kazoo ? kazoo[1]! : name
}

/** Sorts children by a rule's key (stable, as Java's `Collections.sort`). */
export function sortChildren(children: readonly string[], rule: Pick<QueueRule, 'key'>): string[] {
  const keyed = children.map((name) => ({ name, key: rule.key(name) }))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return keyed.map((k) => k.name)
}

/** An exclusive lock: the first candidate holds, each other watches the one just before it (InterProcessMutex, `'lock-'`). */
export function mutexRule(base = 'lock-'): QueueRule {
  return {
    base,
    key: (name) => sequenceKey(name, base),
    decide(sorted, ours) {
      const index = sorted.indexOf(ours)
      if (index === 0) return { holds: true }
      return { holds: false, watch: sorted[index - 1]!, next: index === 1 }
    },
  }
}
