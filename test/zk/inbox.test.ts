import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Inbox } from '../../lib/inbox.js'

const test = suite('inbox: socket work within a budget per turn of the event loop')

const busyFor = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

test('work runs at once while the turn is not busy', () => {
  const inbox = new Inbox(20)
  const ran: number[] = []
  inbox.run(() => ran.push(1))
  inbox.run(() => ran.push(2))
  assert.equal(ran, [1, 2])
  assert.is(inbox.waiting, 0)
})

test('once a turn has spent its budget, the rest waits in order and timers run in between', async () => {
  const inbox = new Inbox(20)
  const order: string[] = []
  let timerAt = -1
  setTimeout(() => (timerAt = order.length), 0)
  // One turn brings 30 pieces of 5 ms each (150 ms): a process reading many busy sockets.
  for (let i = 0; i < 30; i++) inbox.run(() => (busyFor(5), order.push(`w${i}`)))
  assert.ok(order.length >= 4 && order.length <= 6, `about the budget ran at once (${order.length})`)
  assert.ok(inbox.waiting > 0)
  await new Promise<void>((resolve) => {
    const poll = (): void => (inbox.waiting === 0 && order.length === 30 ? resolve() : void setTimeout(poll, 1))
    poll()
  })
  assert.equal(order, Array.from({ length: 30 }, (_, i) => `w${i}`), 'nothing reordered')
  assert.ok(timerAt > 0 && timerAt < 30, `the timer ran while work waited (after ${timerAt} pieces)`)
})

test('work that arrives while older work waits queues behind it, even in a quiet turn', async () => {
  const inbox = new Inbox(20)
  const order: number[] = []
  inbox.run(() => busyFor(25))
  inbox.run(() => order.push(1))
  assert.is(inbox.waiting, 1)
  await new Promise((resolve) => setTimeout(resolve, 5))
  inbox.run(() => order.push(2))
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(order, [1, 2])
})

test('a piece that throws does not stop the others; its error is rethrown on its own', async () => {
  const inbox = new Inbox(1)
  const thrown: unknown[] = []
  const listeners = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  process.on('uncaughtException', (error) => thrown.push(error))
  try {
    inbox.run(() => busyFor(3))
    const ran: number[] = []
    inbox.run(() => {
      throw new Error('boom')
    })
    inbox.run(() => ran.push(2))
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(ran, [2])
    assert.is((thrown[0] as Error).message, 'boom')
  } finally {
    process.removeAllListeners('uncaughtException')
    for (const listener of listeners) process.on('uncaughtException', listener)
  }
})

test.run()
