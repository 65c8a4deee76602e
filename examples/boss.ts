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
 * ZKCLOUD_SESSION_TIMEOUT (ms), ZKCLOUD_HOST and ZKCLOUD_COOKIE (the node's
 * address and shared secret).
 */
import { createInterface } from 'node:readline'
import { bootstrap, type Cluster, type ClusterOptions, type GlobalFunction } from '../lib/cluster/index.js'
import type { Process, ProcessId } from '../lib/runtime/index.js'

/** A job as sent to the boss: it acknowledges it to `from` before delegating it. */
interface Job {
  readonly job: string
  readonly from: ProcessId
}

function isJob(message: unknown): message is Job {
  return typeof message === 'object' && message !== null && typeof (message as Job).job === 'string'
}

/** Tells a worker to finish. */
const STOP = { stop: true } as const
const ACK_TIMEOUT_MS = 5000

function isStop(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { stop?: unknown }).stop === true
}

function say(text: string): void {
  console.log(text)
}

/** The boss: takes jobs and hands each to the next worker, round robin. */
function boss(cluster: Cluster): GlobalFunction {
  return async (self, leadership) => {
    say(`I'm the boss! (fencing token ${leadership.token})`)
    const workers = await cluster.getCapable('worker')
    say(workers.length === 0 ? "I don't do any work! Start a worker." : `I've got ${workers.length} workers right now.`)
    for (let next = 0; ; ) {
      const { job, from } = await self.receive(isJob)
      self.send(from, { taken: job })
      // getCapable on every job costs nothing: the list is cached until a worker comes or goes.
      const found = await cluster.getCapable('worker')
      if (found.length === 0) {
        say(`Where is my workforce?! Job ${job} dropped.`)
        continue
      }
      const worker = found[next++ % found.length]!
      say(`Delegating job ${job} to ${worker}`)
      self.send(worker, job)
    }
  }
}

/** A worker: does jobs until told to stop. */
async function work(self: Process): Promise<void> {
  for (;;) {
    const message = await self.receive()
    if (isStop(message)) break
    say(`Doing job ${String(message)}`)
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
  ...(env.ZKCLOUD_COOKIE && { cookie: env.ZKCLOUD_COOKIE }),
}
const job = process.argv.slice(2).join(' ')
await bootstrap(options, (self, cluster) => (job === '' ? persistent(self, cluster) : requestor(self, cluster, job)))
