#!/usr/bin/env node
// `npm run demo`: serves the demo with Vite on loopback and prints its address.
// Later issues start the dev MCPTT system (identity server, KMS, Kamailio, MCPTT server) here.
import { createServer } from 'vite';

const server = await createServer({ configFile: 'vite.config.ts' });
await server.listen();
const base = server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5173/';
process.stdout.write(`mcptt-sdk demo: ${base}demo/\n(Ctrl-C to stop)\n`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
