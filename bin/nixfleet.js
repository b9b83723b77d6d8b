#!/usr/bin/env node
import module from 'node:module';

// Node 22.1 and newer keep compiled code between starts; on Node 20 this is absent and skipped.
module.enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
