import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeValue, encodeFrame } from '../../lib/runtime/codec.js'
import { NodeId, ProcessId } from '../../lib/runtime/index.js'

const test = suite('ids')

test('node id string forms round-trip and the key is znode-safe', () => {
  const id = new NodeId('127.0.0.1', 4000, 2913474510)
  assert.is(id.key, '127.0.0.1:4000:2913474510')
  assert.is(id.toString(), 'nid://127.0.0.1:4000:2913474510')
  assert.not.match(id.key, '/')
  assert.ok(NodeId.parse(id.toString()).equals(id))
  assert.ok(NodeId.parse(id.key).equals(id))
  assert.ok(NodeId.decode(id.encode()).equals(id))
  assert.is(JSON.stringify({ id }), '{"id":"nid://127.0.0.1:4000:2913474510"}')
})

test('IPv6 hosts are bracketed in string forms', () => {
  const id = new NodeId('::1', 4000, 5)
  assert.is(id.key, '[::1]:4000:5')
  assert.ok(NodeId.parse('nid://[::1]:4000:5').equals(id))
  const pid = new ProcessId(id, 12)
  assert.is(pid.toString(), 'pid://[::1]:4000:5:12')
  assert.ok(ProcessId.parse(pid.toString()).equals(pid))
})

test('process id string and byte forms round-trip', () => {
  const pid = new ProcessId(new NodeId('node-a.example', 4000, 77), 9)
  assert.is(pid.toString(), 'pid://node-a.example:4000:77:9')
  assert.is(pid.key, 'node-a.example:4000:77:9')
  assert.ok(ProcessId.parse(pid.toString()).equals(pid))
  assert.ok(ProcessId.parse(pid.key).equals(pid))
  assert.ok(ProcessId.decode(pid.encode()).equals(pid))
})

test('equality distinguishes incarnations and processes', () => {
  const a = new NodeId('127.0.0.1', 4000, 1)
  const b = new NodeId('127.0.0.1', 4000, 2)
  assert.not.ok(a.equals(b))
  assert.ok(new ProcessId(a, 1).equals(new ProcessId(new NodeId('127.0.0.1', 4000, 1), 1)))
  assert.not.ok(new ProcessId(a, 1).equals(new ProcessId(b, 1)))
  assert.not.ok(new ProcessId(a, 1).equals(new ProcessId(a, 2)))
})

test('malformed ids are refused', () => {
  for (const text of ['', 'nid://', 'nid://host:4000', 'nid://host:x:1', 'nid://host:4000:0', 'nid://a/b:1:1', 'nid://::1:4000:1', 'nid://h:04000:1', 'nid://h:70000:1']) {
    assert.throws(() => NodeId.parse(text), TypeError, text)
  }
  for (const text of ['pid://h:1:1', 'pid://h:1:1:0', 'pid://h:1:1:-3', 'pid://h:1:1:1.5']) {
    assert.throws(() => ProcessId.parse(text), TypeError, text)
  }
  assert.throws(() => new NodeId('a b', 1, 1), TypeError)
  assert.throws(() => new ProcessId(new NodeId('h', 1, 1), 0), TypeError)
})

test('pids and node ids survive msgpack inside messages', () => {
  const node = new NodeId('127.0.0.1', 4000, 3)
  const pid = new ProcessId(node, 8)
  const frame = Buffer.from(encodeFrame({ reply: pid, nodes: [node], nested: { pid } }, 1024))
  const value = decodeValue(frame, 4, frame.length) as { reply: ProcessId; nodes: NodeId[]; nested: { pid: ProcessId } }
  assert.instance(value.reply, ProcessId)
  assert.ok(value.reply.equals(pid))
  assert.instance(value.nodes[0], NodeId)
  assert.ok(value.nodes[0]?.equals(node))
  assert.ok(value.nested.pid.equals(pid))
})

test.run()
