/**
 * Where the dev server differs from ZooKeeper 3.8 on purpose. This is the one
 * list: the harness cites these keys where it normalises, and
 * docs/dev-server.md repeats them for users.
 */
export const DIFFERENCES = {
  childOrder:
    'getChildren and getEphemerals list names in creation order; ZooKeeper lists them in Java HashSet order. The suite sorts both lists.',
  sessionEndOrder:
    'When a session with several ephemeral nodes ends, ZooKeeper deletes them (and fires their watches) in HashSet order, the dev server in creation order. The suite compares the events of such a step as a set.',
  standaloneCheck:
    'A check (opcode 13) sent on its own, outside multi, gets an empty OK reply when it passes; ZooKeeper 3.8 fails to serialise that reply and sends nothing, so the caller waits forever. No client sends it.',
  createSessionRequest:
    'A createSession request (opcode -10) after the handshake is refused with UNIMPLEMENTED and the connection is closed; ZooKeeper re-registers the connection’s session with a timeout read from the request’s first four bytes and answers with a stray handshake frame.',
  fourLetterWords:
    'ruok, isro, srvr, stat, mntr, conf, cons, envi, wchs, wchc, wchp and dump are answered, all of them by default (ZooKeeper 3.5+ answers only srvr unless 4lw.commands.whitelist says more; the dev server takes the same list as fourLetterWords); dirs, crst, srst, gtmk, stmk and hash get the answer for a word left out of the whitelist. Latencies are reported as zero, envi lists Node.js where ZooKeeper lists Java.',
  authProviders:
    'Authentication schemes are digest, ip and (with saslUsers) SASL DIGEST-MD5, as ZooKeeper with its DigestLoginModule: no superDigest, Kerberos or x509.',
  tlsConnectionFactory:
    'With a TLS port, ZooKeeper switches to its Netty connection factory for both ports, which does not close connections that never send a handshake and lists no connections in dump; the dev server keeps doing both.',
  quotas:
    'No quota bookkeeping: /zookeeper/quota exists, but the dev server does not keep the zookeeper_stats nodes under it up to date as ZooKeeper does (neither enforces limits by default).',
  persistence:
    'With a data directory the state is one snapshot, written within half a second of a change and on close, not a transaction log: a crash can lose the last half second.',
} as const
