/**
 * The seed's walkthrough: one boss, elected through ZooKeeper, delegates jobs
 * to workers found with `getCapable('worker')`; when the boss goes, the next
 * candidate takes over and both delegates and works.
 *
 *   node dist/examples/boss.js           a boss candidate; a worker when not elected
 *   node dist/examples/boss.js <job…>    send a job to the boss and exit
 *
 * Enter, Ctrl-C or SIGTERM stops a persistent process. Environment: ZK_HOSTS
 * (default localhost:2181), ZKCLOUD_PREFIX (default /zkcloud),
 * ZKCLOUD_SESSION_TIMEOUT (ms), ZKCLOUD_TICK_TIME (the ensemble's tickTime, ms),
 * ZKCLOUD_HOST and ZKCLOUD_COOKIE (the node's address and shared secret).
 */
import { createInterface } from 'node:readline'
import { bootstrap, type Cluster, type ClusterOptions, type GlobalFunction } from '../lib/cluster/index.js'
import { isDown, type MonitorRef, type Process, type ProcessId } from '../lib/runtime/index.js'

/** A job as sent to the boss: it acknowledges it to `from` before delegating it. */
interface Job {
  readonly job: string
  readonly from: ProcessId
}

/** A job as the boss hands it to a worker: `id` is the boss's, `token` its fencing token. */
interface Task {
  readonly task: string
  readonly id: string
  readonly boss: ProcessId
  readonly token: number
}

/** A worker's report that it did task `done` (the boss's id). */
interface Done {
  readonly done: string
}

const has = (message: unknown, key: string): boolean => typeof message === 'object' && message !== null && key in message
const isJob = (message: unknown): message is Job => has(message, 'job') && typeof (message as Job).job === 'string'
const isTask = (message: unknown): message is Task => has(message, 'task') && has(message, 'token')
const isDone = (message: unknown): message is Done => has(message, 'done')

/** Tells a worker to finish. */
const STOP = { stop: true } as const
const ACK_TIMEOUT_MS = 5000
/** How long a worker may take before its job goes to another one (a worker that dies is noticed at once). */
const TASK_TIMEOUT_MS = 10_000
/** How often a boss without workers looks again. */
const NO_WORKER_RETRY_MS = 500

function isStop(message: unknown): boolean {
  return has(message, 'stop') && (message as { stop?: unknown }).stop === true
}

function say(text: string): void {
  console.log(text)
}

/** A job the boss acknowledged and has not seen done: at `worker` (null: waiting for one) since `at`. */
interface Pending {
  readonly job: string
  worker: ProcessId | null
  ref: MonitorRef | null
  at: number
  /** Whether it has said it waits for a worker. */
  waited: boolean
}

/**
 * The boss: takes jobs, acknowledges them, and hands each to the next worker,
 * round robin. A job stays its responsibility until a worker reports it done:
 * when that worker's process goes down (its node died, or the connection to
 * it broke), or takes longer than TASK_TIMEOUT_MS, the job goes to another
 * worker. Workers are fenced resources: each task carries the boss's token,
 * and a worker refuses tasks from a boss older than the newest it has seen.
 */
function boss(cluster: Cluster): GlobalFunction {
  return async (self, leadership) => {
    say(`I'm the boss! (fencing token ${leadership.token})`)
    const workers = await cluster.getCapable('worker')
    say(workers.length === 0 ? "I don't do any work! Start a worker." : `I've got ${workers.length} workers right now.`)
    const pending = new Map<string, Pending>()
    let next = 0
    let count = 0
    const delegate = async (id: string, entry: Pending): Promise<void> => {
      // getCapable on every job costs nothing: the list is cached until a worker comes or goes,
      // and leaves out workers whose node the transport saw go down.
      const all = await cluster.getCapable('worker')
      const others = all.filter(worker => entry.worker === null || !worker.equals(entry.worker))
      const candidates = others.length > 0 ? others : all
      if (entry.ref !== null) self.demonitor(entry.ref)
      entry.ref = null
      entry.at = Date.now()
      if (candidates.length === 0) {
        if (entry.worker !== null || !entry.waited) say(`Where is my workforce?! Job ${entry.job} waits for a worker.`)
        entry.worker = null
        entry.waited = true
        return
      }
      // The check a global process makes before each side effect (self.send makes it too).
      if (!leadership.valid()) return
      const worker = candidates[next++ % candidates.length]!
      entry.worker = worker
      entry.ref = self.monitor(worker)
      say(`Delegating job ${entry.job} to ${worker}`)
      self.send(worker, { task: entry.job, id, boss: self.pid, token: leadership.token } satisfies Task)
    }
    for (;;) {
      const now = Date.now()
      let wait = Infinity
      for (const entry of pending.values()) wait = Math.min(wait, entry.at + (entry.worker === null ? NO_WORKER_RETRY_MS : TASK_TIMEOUT_MS) - now)
      const message = await self.receive(wait === Infinity ? {} : { timeout: Math.max(0, wait) })
      if (isJob(message)) {
        self.send(message.from, { taken: message.job })
        const id = `${leadership.token}-${++count}`
        const entry: Pending = { job: message.job, worker: null, ref: null, at: 0, waited: false }
        pending.set(id, entry)
        await delegate(id, entry)
      } else if (isDone(message)) {
        const entry = pending.get(message.done)
        if (entry === undefined) continue // done twice: a slow worker and the one it was given to next
        pending.delete(message.done)
        if (entry.ref !== null) self.demonitor(entry.ref)
        say(`Finished job ${entry.job}`)
      } else if (isDown(message)) {
        for (const [id, entry] of pending) {
          if (entry.ref !== null && entry.ref.id === message.ref.id) {
            say(`Worker ${message.pid} is gone (${String(message.reason)}); job ${entry.job} goes to another`)
            entry.ref = null
            await delegate(id, entry)
          }
        }
      } else if (message === undefined) {
        for (const [id, entry] of pending) {
          if (entry.at + (entry.worker === null ? NO_WORKER_RETRY_MS : TASK_TIMEOUT_MS) <= Date.now()) await delegate(id, entry)
        }
      }
    }
  }
}

/** A worker: does jobs until told to stop, refusing those of a boss older than the newest it has seen. */
async function work(self: Process): Promise<void> {
  let newest = -Infinity
  for (;;) {
    const message = await self.receive()
    if (isStop(message)) break
    if (!isTask(message)) continue
    if (message.token < newest) {
      say(`Refusing job ${message.task} from a deposed boss (token ${message.token} < ${newest})`)
      continue
    }
    newest = message.token
    say(`Doing job ${message.task}`)
    self.send(message.boss, { done: message.id } satisfies Done)
  }
  say('No more work for me!')
}

/** Resolves on Enter, SIGINT or SIGTERM (an end of input is ignored: run it in the background with </dev/null). */
function stopRequested(): Promise<void> {
  return new Promise(resolve => {
    const input = createInterface({ input: process.stdin })
    const done = (): void => {
      input.close()
      process.stdin.destroy()
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    input.on('line', done)
    process.on('SIGINT', done)
    process.on('SIGTERM', done)
  })
}

async function persistent(self: Process, cluster: Cluster): Promise<void> {
  say('Starting persistent process - press <Enter> to exit.')
  const stop = stopRequested()
  const holder: ProcessId = await cluster.registerCandidate('boss', boss(cluster))
  if (holder.node.equals(self.node.id)) {
    await stop
    return
  }
  const worker = self.spawn(work)
  self.node.register('worker', worker)
  say('Worker waiting for task...')
  void stop.then(() => self.send(worker, STOP))
  await self.node.exited(worker)
}

/**
 * Sends one job and waits until the boss has taken it: messages are delivered
 * at most once, and one still on its way when this node stops may be lost.
 */
async function requestor(self: Process, cluster: Cluster, job: string): Promise<void> {
  const boss = await cluster.whereisGlobal('boss')
  if (boss === null) {
    say('No boss is running.')
    process.exitCode = 1
    return
  }
  self.send(boss, { job, from: self.pid } satisfies Job)
  const taken = await self.receive(message => (message as { taken?: unknown }).taken === job, { timeout: ACK_TIMEOUT_MS })
  if (taken === undefined) {
    say(`The boss ${boss} did not take job ${job} within ${ACK_TIMEOUT_MS} ms.`)
    process.exitCode = 1
    return
  }
  say(`Sent job ${job} to the boss ${boss}`)
}

const env = process.env
const options: ClusterOptions = {
  zookeeper: env.ZK_HOSTS ?? 'localhost:2181',
  host: env.ZKCLOUD_HOST ?? '127.0.0.1',
  ...(env.ZKCLOUD_PREFIX && { prefix: env.ZKCLOUD_PREFIX }),
  ...(env.ZKCLOUD_SESSION_TIMEOUT && { sessionTimeout: Number(env.ZKCLOUD_SESSION_TIMEOUT) }),
  ...(env.ZKCLOUD_TICK_TIME && { tickTime: Number(env.ZKCLOUD_TICK_TIME) }),
  ...(env.ZKCLOUD_COOKIE && { cookie: env.ZKCLOUD_COOKIE }),
}
const job = process.argv.slice(2).join(' ')
await bootstrap(options, (self, cluster) => (job === '' ? persistent(self, cluster) : requestor(self, cluster, job)))
