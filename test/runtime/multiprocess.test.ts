import { once } from 'node:events'
import { connect } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isDown, type DownMessage, type ProcessId } from '../../lib/runtime/index.js'
import { collector, newCookie, sleep, startChildNode, until, withNodes, within, type ChildNode } from './support.js'

const secret = newCookie()
const test = suite('nodes in separate OS processes')

/** Starts child nodes, runs `body`, and kills the children whatever happens. */
async function withChildren(options: { port?: number; cookie?: string }[], body: (...children: ChildNode[]) => Promise<void>): Promise<void> {
  const children: ChildNode[] = []
  try {
    for (const option of options) children.push(await startChildNode(option))
    await body(...children)
  } finally {
    await Promise.all(children.map(child => child.kill()))
  }
}

test('the registry works across processes: nsendRemote reaches a name in a child node', () =>
  withChildren([{}], child =>
    withNodes([{}], async ({ node }) => {
      const out = collector(node)
      node.nsendRemote(child.id, 'echo', { reply: out.pid, body: { hello: 'from the parent' } })
      assert.equal(await out.next(), { hello: 'from the parent' })
      node.send(child.echo, { reply: out.pid, body: 'by pid' })
      assert.is(await out.next(), 'by pid')
    }),
  ))

test('ordering under load across processes, in both directions', () =>
  withChildren([{}], child =>
    withNodes([{}], async ({ node }) => {
      const COUNT = 50_000
      const out = collector(node)
      const checker = node.spawn(async self => {
        for (let expected = 0; expected < COUNT; expected++) {
          const { seq } = await self.receive<{ seq: number }>()
          if (seq !== expected) {
            self.send(out.pid, `expected ${expected}, got ${seq}`)
            return
          }
        }
        self.send(out.pid, 'in order')
      })
      node.send(child.echo, { blast: COUNT, to: checker })
      assert.is(await out.next(30_000), 'in order')

      const echoed = node.spawn(async self => {
        for (let expected = 0; expected < COUNT; expected++) {
          const { seq } = await self.receive<{ seq: number }>()
          if (seq !== expected) {
            self.send(out.pid, `echo: expected ${expected}, got ${seq}`)
            return
          }
        }
        self.send(out.pid, 'echoes in order')
      })
      node.spawn(async self => {
        for (let seq = 0; seq < COUNT; seq++) {
          if (!self.send(child.echo, { reply: echoed, body: { seq } })) await self.drain(child.echo)
        }
      })
      assert.is(await out.next(30_000), 'echoes in order')
    }),
  ))

test('kill -9 of a remote node process: monitors hear disconnect, links propagate it', () =>
  withChildren([{}], child =>
    withNodes([{}], async ({ node }) => {
      const out = collector(node)
      node.spawn(async self => {
        self.monitor(child.echo)
        self.send(out.pid, 'monitoring')
        self.send(out.pid, (await self.receive(isDown)).reason)
      })
      const linked = node.spawn(async self => {
        self.link(child.echo)
        await self.receive()
      })
      const fromOutside = new Promise<DownMessage>(resolve => node.monitor(child.echo, resolve))
      assert.is(await out.next(), 'monitoring')
      const probe = collector(node)
      node.send(child.echo, { reply: probe.pid, body: 'alive' })
      assert.is(await probe.next(), 'alive')
      const linkedExit = node.exited(linked)
      const nodedown = once(node, 'nodedown')
      child.child.kill('SIGKILL')
      assert.is(await out.next(), 'disconnect')
      assert.is((await within(fromOutside, 5000, 'callback down')).reason, 'disconnect')
      assert.is(await within(linkedExit, 5000, 'linked exit'), 'disconnect')
      assert.is(String((await within(nodedown, 5000, 'nodedown'))[0]), child.id.toString())
      const late = await within(new Promise<DownMessage>(resolve => node.monitor(child.echo, resolve)), 5000, 'late down')
      assert.is(late.reason, 'disconnect')
    }),
  ))

test('a cookie mismatch across processes lets nothing through', () =>
  withChildren([{ cookie: newCookie() }], child =>
    withNodes([{ cookie: newCookie() }], async ({ node, errors }) => {
      const out = collector(node)
      const down = new Promise<DownMessage>(resolve => node.monitor(child.echo, resolve))
      node.nsendRemote(child.id, 'echo', { reply: out.pid, body: 'must not arrive' })
      assert.is((await within(down, 5000, 'down')).reason, 'disconnect')
      assert.ok(errors.some(line => line.includes('cookie mismatch')), errors.join('\n'))
      await sleep(200)
      assert.equal(out.messages, [])
    }),
  ))

test('garbage sent to a child node drops that connection only', () =>
  withChildren([{ cookie: secret }], child =>
    withNodes([{ cookie: secret }], async ({ node }) => {
      for (const garbage of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0, 0, 0, 2, 0x93, 0x01])]) {
        const socket = connect({ host: child.id.host, port: child.id.port })
        socket.on('error', () => undefined)
        socket.resume()
        await once(socket, 'connect')
        socket.write(garbage)
        await within(once(socket, 'close'), 5000, 'the child to drop the connection')
      }
      const out = collector(node)
      node.nsendRemote(child.id, 'echo', { reply: out.pid, body: 'still serving' })
      assert.is(await out.next(), 'still serving')
    }),
  ))

test('a node restarted at the same port in a new process is a new incarnation', () =>
  withNodes([{}], async ({ node }) => {
    const out = collector(node)
    const first = await startChildNode()
    let second: ChildNode | null = null
    try {
      node.send(first.echo, { reply: out.pid, body: 'first run' })
      assert.is(await out.next(), 'first run')
      const firstDown = new Promise<DownMessage>(resolve => node.monitor(first.echo, resolve))
      await first.kill()
      assert.is((await within(firstDown, 5000, 'down of the first run')).reason, 'disconnect')
      second = await startChildNode({ port: first.id.port })
      assert.is(second.id.port, first.id.port)
      assert.not.ok(second.id.equals(first.id))
      assert.is(second.echo.id, first.echo.id)
      const oldPid: ProcessId = first.echo
      node.send(oldPid, { reply: out.pid, body: 'to the dead run' })
      const stale = await within(new Promise<DownMessage>(resolve => node.monitor(oldPid, resolve)), 5000, 'down of the old pid')
      assert.is(stale.reason, 'noproc')
      node.send(second.echo, { reply: out.pid, body: 'second run' })
      assert.is(await out.next(), 'second run')
      await until(() => node.peers().length === 1, 2000, 'one peer')
      assert.equal(out.messages, [])
    } finally {
      await Promise.all([first.kill(), second?.kill()])
    }
  }))

test.run()
