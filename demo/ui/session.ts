/**
 * The demo's McpttClient (TS 33.179 5.6.1 login and key provisioning, 5.6.2 registration):
 * made from the dev system's configuration, with the bootstrap transport key the dev system
 * hands out (out of band in a deployment).
 */
import { createMcpttClient, type McpttClient } from '../../src/client.js';
import { hexToBytes } from '../../src/util/bytes.js';
import type { DemoConfig } from '../config.js';

export function clientFor(config: DemoConfig): McpttClient {
  const here = new URL('./', location.href).toString();
  return createMcpttClient({
    idms: { authority: config.idms, clientId: config.clientId, redirectUri: here, postLogoutRedirectUri: here },
    kms: {
      baseUrl: config.kms,
      kmsUri: config.kmsUri,
      security: config.kmsSecurity === 'on',
      bootstrapTransportKey: (mcpttId) => {
        const t = config.users.find((u) => u.mcpttId === mcpttId)?.transportKey;
        return t === undefined ? undefined : { id: t.id, key: hexToBytes(t.keyHex) };
      },
    },
  });
}

/** After a page load: finish a login redirect or resume a stored session; false when signed out. */
export async function resumeSession(client: McpttClient): Promise<boolean> {
  const url = new URL(location.href);
  if (url.searchParams.has('code') && url.searchParams.has('state')) {
    await client.completeLogin(location.href);
    history.replaceState(null, '', url.pathname);
    return true;
  }
  return client.restore();
}

export async function connectToService(client: McpttClient, config: DemoConfig): Promise<boolean> {
  if (config.sip === undefined || config.mcpttServer === undefined) return false;
  await client.connect({
    sipServer: config.sip,
    mcpttServerUri: config.mcpttServer,
    gmsUris: [config.serverIdentities.gms],
    ...(config.gms !== undefined ? { gmsUrl: config.gms } : {}),
    ...(config.xmlProtection === true ? { xmlProtection: true } : {}),
  });
  return true;
}
