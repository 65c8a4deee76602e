/**
 * An operation that ZooKeeper answers with an error code (`NONODE`, `NOAUTH`,
 * …). Thrown by the request handlers and turned into the reply's `err`; it
 * carries no stack because it is an answer, not a fault.
 */
export class Failure {
  constructor(readonly code: number) {}
}

/** Ends the current operation with an error code. */
export function fail(code: number): never {
  throw new Failure(code)
}
