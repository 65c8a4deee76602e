#!/usr/bin/env node
/**
 * The `zkcloud` executable: `zkcloud help` lists the commands.
 * @module
 */
import { runCli } from './cli.js'

const status = await runCli(process.argv.slice(2))
process.exitCode = status
// Everything should be closed by now; if something is not, the user's shell must not hang on it.
setTimeout(() => process.exit(status), 1000).unref()
