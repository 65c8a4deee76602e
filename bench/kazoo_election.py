"""The peer of bench/election.ts: kazoo's Election recipe, measured the same way.

Three contenders (one KazooClient each, so one session each) run
`Election.run(fn)` for one election path; `fn` records when it starts and
blocks until its contender is told to go. A round closes the holder's session
(`client.stop()`, the graceful handover) and measures until the successor's
`fn` starts; the stopped contender then joins again at the back. The floor is
measured in the same process: one client closes a session holding an
ephemeral znode, another client's watch on that znode hears NodeDeleted.

  /usr/bin/python3 bench/kazoo_election.py HOSTS ROUNDS  ->  one JSON line on stdout
"""
import json
import sys
import threading
import time

from kazoo.client import KazooClient

HOSTS = sys.argv[1]
ROUNDS = int(sys.argv[2])
PATH = '/bench-kazoo-election-%d' % int(time.time() * 1000)
TIMEOUT = 10.0


class Contender:
    def __init__(self, started):
        self.client = KazooClient(hosts=HOSTS, timeout=TIMEOUT)
        self.client.start()
        self.started = started
        self.go = threading.Event()
        self.election = self.client.Election(PATH)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.election.run(self._lead)
        except Exception:
            pass

    def _lead(self):
        self.started(self, time.perf_counter())
        self.go.wait()


def main():
    lock = threading.Lock()
    leader = {'who': None, 'at': None, 'event': threading.Event()}

    def started(contender, at):
        with lock:
            leader['who'] = contender
            leader['at'] = at
            leader['event'].set()

    contenders = [Contender(started) for _ in range(3)]
    leader['event'].wait(30)
    samples = []
    for _ in range(ROUNDS):
        with lock:
            holder = leader['who']
            leader['event'].clear()
        t0 = time.perf_counter()
        holder.client.stop()
        if not leader['event'].wait(30):
            raise SystemExit('no successor within 30 s')
        with lock:
            samples.append((leader['at'] - t0) * 1000)
        holder.go.set()
        holder.client.close()
        contenders.remove(holder)
        contenders.append(Contender(started))
        time.sleep(0.02)

    floor = []
    watcher = KazooClient(hosts=HOSTS, timeout=TIMEOUT)
    watcher.start()
    for i in range(ROUNDS):
        owner = KazooClient(hosts=HOSTS, timeout=TIMEOUT)
        owner.start()
        path = '%s-floor-%d' % (PATH, i)
        owner.create(path, b'x', ephemeral=True)
        gone = threading.Event()
        heard = {}

        def watch(event, heard=heard, gone=gone):
            heard['at'] = time.perf_counter()
            gone.set()

        watcher.exists(path, watch=watch)
        watcher.sync(path)
        t0 = time.perf_counter()
        owner.stop()
        gone.wait(30)
        floor.append((heard['at'] - t0) * 1000)
        owner.close()
    for c in contenders:
        c.go.set()
        c.client.stop()
        c.client.close()
    watcher.stop()
    watcher.close()
    print(json.dumps({'handover': samples, 'floor': floor}))


main()
