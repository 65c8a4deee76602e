import type { ProcessId } from './ids.js'

/**
 * A node's local names: each name maps to one process, a process may have
 * several names.
 */
export class Registry {
  readonly #byName = new Map<string, ProcessId>()
  readonly #byProcess = new Map<number, Set<string>>()

  /** Every registered name. */
  names(): string[] {
    return [...this.#byName.keys()]
  }

  whereis(name: string): ProcessId | null {
    return this.#byName.get(name) ?? null
  }

  /** @throws Error if `name` is taken */
  register(name: string, pid: ProcessId): void {
    const holder = this.#byName.get(name)
    if (holder !== undefined) throw new Error(`name ${JSON.stringify(name)} is already registered to ${holder}`)
    this.#byName.set(name, pid)
    let names = this.#byProcess.get(pid.id)
    if (names === undefined) this.#byProcess.set(pid.id, (names = new Set()))
    names.add(name)
  }

  /** Removes `name`; returns the process it named, if any. */
  unregister(name: string): ProcessId | undefined {
    const pid = this.#byName.get(name)
    if (pid === undefined) return undefined
    this.#byName.delete(name)
    const names = this.#byProcess.get(pid.id)
    names?.delete(name)
    if (names?.size === 0) this.#byProcess.delete(pid.id)
    return pid
  }

  /** Removes every name of the process numbered `id`; returns them. */
  unregisterAll(id: number): string[] {
    const names = this.#byProcess.get(id)
    if (names === undefined) return []
    this.#byProcess.delete(id)
    for (const name of names) this.#byName.delete(name)
    return [...names]
  }
}
