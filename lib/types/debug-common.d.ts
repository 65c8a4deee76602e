// The environment-independent core of the `debug` package (namespaces, enable/disable,
// formatters, colours, humanised time); lib/debug-log.ts gives it a Node back end.
declare module 'debug/src/common.js' {
  import type { Debug } from 'debug'
  const setup: (env: object) => Debug
  export default setup
}
