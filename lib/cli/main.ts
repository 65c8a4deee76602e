#!/usr/bin/env node
/**
 * The `zkcloud` executable: `zkcloud help` lists the commands.
 * @module
 */
import { runCli } from './cli.js'

process.exitCode = await runCli(process.argv.slice(2))
