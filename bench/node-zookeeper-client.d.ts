// The few calls of node-zookeeper-client (the benchmark peer) the benchmarks use.
declare module 'node-zookeeper-client' {
  export interface Stat {
    version: number
  }
  export interface Exception {
    getCode(): number
    getName(): string
  }
  type Callback<T> = (error: Exception | Error | null, value: T, stat?: Stat) => void
  export interface Client {
    connect(): void
    close(): void
    once(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void
    on(event: 'state', listener: (state: { name: string; code: number }) => void): void
    getSessionId(): Buffer
    getData(path: string, callback: (error: Exception | Error | null, data: Buffer, stat: Stat) => void): void
    setData(path: string, data: Buffer, version: number, callback: Callback<Stat>): void
    create(path: string, data: Buffer, mode: number, callback: Callback<string>): void
    remove(path: string, version: number, callback: (error: Exception | Error | null) => void): void
    exists(path: string, callback: Callback<Stat | null>): void
  }
  const zookeeper: {
    createClient(connectionString: string, options?: { sessionTimeout?: number; spinDelay?: number; retries?: number }): Client
    CreateMode: { PERSISTENT: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number }
  }
  export default zookeeper
}
