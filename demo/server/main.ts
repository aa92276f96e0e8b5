/**
 * `npm run devstack` (the dev MCPTT system in the foreground) and `npm run demo` (the same
 * plus the Vite server of the demo page). Prints the URLs and the demo users, writes them to
 * demo/.devstack.json for tools and tests, and stops every child on Ctrl-C or SIGTERM.
 *
 *   --web-port N      port of the demo page (default 5173)
 *   --idms-port N     identity server (default 4401)
 *   --kms-port N      KMS (default 4402)
 *   --kms-security on|off
 *   --sip-port N      Kamailio's WebSocket port (default 4403)
 *   --gms-port N      the GMS HTTP API (default 4404)
 *   --no-sip          without Kamailio and the MCPTT server
 *   --sip-tls         also SIP over secure WebSocket (wss, throwaway certificate)
 *   --with-web        also serve the demo page with Vite
 *   --extra-groups N  N more groups with the dispatcher as their only member (default 0)
 *   --xml-protection required|optional|off
 *                     TS 33.179 9.3 protection of sensitive signalling at the MCPTT server
 *                     (default required: the demo hides MCPTT IDs, group IDs and tokens)
 */
import { writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDevstack } from './devstack.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const webPort = Number(arg('web-port', '5173'));
const webOrigin = `http://127.0.0.1:${webPort}`;
const configFile = fileURLToPath(new URL('../.devstack.json', import.meta.url));

const stack = await startDevstack({
  webOrigins: [webOrigin],
  idmsPort: Number(arg('idms-port', '4401')),
  kmsPort: Number(arg('kms-port', '4402')),
  kmsSecurity: arg('kms-security', 'on') === 'off' ? 'off' : 'on',
  sip: !process.argv.includes('--no-sip'),
  sipWsPort: Number(arg('sip-port', '4403')),
  gmsPort: Number(arg('gms-port', '4404')),
  sipTls: process.argv.includes('--sip-tls'),
  extraGroups: Number(arg('extra-groups', '0')),
  xmlProtection: ((v: string) => (v === 'off' || v === 'optional' ? v : 'required'))(arg('xml-protection', 'required')),
});

let vite: { close(): Promise<void> } | undefined;
if (process.argv.includes('--with-web')) {
  const { createServer } = await import('vite');
  const server = await createServer({ configFile: 'vite.config.ts', server: { port: webPort, strictPort: true } });
  await server.listen();
  vite = server;
}

writeFileSync(configFile, JSON.stringify({ ...stack.config, web: `${webOrigin}/demo/` }, null, 2) + '\n');
const out = (s: string): void => void process.stdout.write(s + '\n');
out('mcptt-sdk dev MCPTT system');
out(`  identity server  ${stack.config.idms}`);
out(`  KMS              ${stack.config.kms}/keymanagement/identity/v1/  (security extension ${stack.config.kmsSecurity})`);
if (stack.config.sip) {
  out(`  SIP core         ${stack.config.sip}  (Kamailio, pid ${stack.kamailio?.pid ?? '?'})`);
  if (stack.config.sipSecure) out(`                   ${stack.config.sipSecure.url}  (its certificate is in demo/.devstack.json)`);
  out(`  MCPTT server     ${stack.config.mcpttServer}  GMS ${stack.config.gms}/gms/v1/groups`);
  out('  groups           ' + (stack.config.groups ?? []).map((g) => g.displayName).join(', '));
}
if (vite) out(`  demo page        ${webOrigin}/demo/`);
out('  demo users       ' + stack.config.users.map((u) => `${u.username} / ${u.password}`).join(', '));
out(`  written to       demo/.devstack.json`);
out('(Ctrl-C to stop)');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([stack.close(), vite?.close()]);
  rmSync(configFile, { force: true });
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
