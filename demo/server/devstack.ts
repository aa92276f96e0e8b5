/**
 * The dev MCPTT system (ARCHITECTURE.md, "The dev MCPTT system"): the identity management
 * server (oidc-provider), the KMS (Annex D), and with `sip` the SIP core (Kamailio, a child
 * process stopped by its PID) and the MCPTT server/GMS, all on loopback. `npm run devstack`,
 * `npm run demo` and the browser tests start it through `startDevstack`, so they run the
 * same system.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8 } from '../../src/util/bytes.js';
import { DEMO_GROUPS, DEMO_USERS, dispatcherGroups, DEV_CLIENT_ID, DEV_KMS_URI, DEV_SIP_DOMAIN, DEV_USER_KEY_OFFSET, DEV_USER_KEY_PERIOD, MCPTT_SERVER_URI, SERVER_IDENTITIES, type DemoGroup, type DemoUser } from './config.js';
import { startKamailio, type RunningKamailio } from './kamailio.js';
import { startMcpttServer, type RunningMcpttServer } from './mcptt-server/index.js';
import { startIdms, type Idms } from './idms.js';
import { startKms, type RunningKms } from './kms.js';
import { createTokenVerifier } from './token-verifier.js';

export interface DevstackOptions {
  /** Origins of the pages that log in and call the KMS, e.g. `http://127.0.0.1:5173`. */
  readonly webOrigins: readonly string[];
  /** Paths (under each origin) the IdMS may redirect back to; default `/demo/`. */
  readonly redirectPaths?: readonly string[];
  readonly idmsPort?: number;
  readonly kmsPort?: number;
  /** KMS security extension (signed messages, wrapped keys); default 'on'. */
  readonly kmsSecurity?: 'on' | 'off';
  readonly accessTokenTtlSeconds?: number;
  /** Fixed KMS master secrets (reproducible keys across restarts); default random. */
  readonly kmsSeed?: Uint8Array;
  readonly users?: readonly DemoUser[];
  /** Also run Kamailio and the MCPTT server/GMS (default false). */
  readonly sip?: boolean;
  /** Fixed WebSocket port of Kamailio (default: a free one). */
  readonly sipWsPort?: number;
  /** Also serve SIP over secure WebSocket (wss) with a throwaway certificate (default false). */
  readonly sipTls?: boolean;
  /** HTTP port of the GMS (default: a free one). */
  readonly gmsPort?: number;
  readonly groups?: readonly DemoGroup[];
  /** Adds N groups whose only member is the dispatcher (benchmark `gmk.login_many`); default 0. */
  readonly extraGroups?: number;
  /**
   * TS 33.179 9.3 protection of sensitive signalling at the MCPTT server (default 'off');
   * the demo runs 'required'. The config tells clients (`xmlProtection: true`) to match.
   */
  readonly xmlProtection?: 'required' | 'optional' | 'off';
}

/** A user of the dev system as tools and tests see it (written to demo/.devstack.json). */
export interface DevstackUser extends DemoUser {
  /**
   * The user's bootstrap transport key for the KMS security extension. In a deployment it
   * is provisioned out of band; the dev system hands it to the demo page this way.
   */
  readonly transportKey?: { readonly id: string; readonly keyHex: string };
}

export interface DevstackConfig {
  readonly idms: string;
  readonly kms: string;
  readonly kmsUri: string;
  readonly kmsSecurity: 'on' | 'off';
  readonly clientId: string;
  readonly users: readonly DevstackUser[];
  readonly serverIdentities: typeof SERVER_IDENTITIES;
  /** With `sip`: the SIP core's WebSocket URL, the MCPTT server's URI, the GMS HTTP API, the groups. */
  readonly sip?: string;
  /** With `sipTls`: the wss URL and the certificate a client must trust for it. */
  readonly sipSecure?: { readonly url: string; readonly certificatePem: string };
  readonly mcpttServer?: string;
  readonly gms?: string;
  readonly groups?: readonly DemoGroup[];
  /** With `sip` and a server `xmlProtection` other than 'off': clients connect with `xmlProtection: true`. */
  readonly xmlProtection?: boolean;
}

export interface Devstack {
  readonly config: DevstackConfig;
  readonly idms: Idms;
  readonly kms: RunningKms;
  readonly kamailio?: RunningKamailio;
  readonly mcpttServer?: RunningMcpttServer;
  close(): Promise<void>;
}

/** Bootstrap TrK of a user: derived from a per-stack secret, so it is stable for the run. */
function bootstrapTransportKey(secret: Uint8Array, mcpttId: string): { id: string; key: Uint8Array } {
  const key = hmac(sha256, secret, utf8(`bootstrap-trk|${mcpttId}`));
  return { id: `trk-boot-${bytesToHex(sha256(utf8(mcpttId))).slice(0, 12)}`, key };
}

export async function startDevstack(o: DevstackOptions): Promise<Devstack> {
  const users = o.users ?? DEMO_USERS;
  const security = o.kmsSecurity ?? 'on';
  const trkSecret = crypto.getRandomValues(new Uint8Array(32));
  const redirectUris = o.webOrigins.flatMap((origin) => (o.redirectPaths ?? ['/demo/']).map((p) => new URL(p, origin).toString()));
  const idms = await startIdms({
    port: o.idmsPort ?? 0,
    users,
    clientId: DEV_CLIENT_ID,
    redirectUris,
    postLogoutRedirectUris: redirectUris,
    ...(o.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: o.accessTokenTtlSeconds } : {}),
  });
  let kms: RunningKms;
  try {
    kms = await startKms({
      port: o.kmsPort ?? 0,
      kmsUri: DEV_KMS_URI,
      userKeyPeriod: DEV_USER_KEY_PERIOD,
      userKeyOffset: DEV_USER_KEY_OFFSET,
      verifyToken: createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri }),
      corsOrigins: o.webOrigins,
      ...(o.kmsSeed ? { seed: o.kmsSeed } : {}),
      ...(security === 'on' ? { security: { mode: 'on' as const, bootstrapTransportKey: (id: string) => bootstrapTransportKey(trkSecret, id) } } : {}),
    });
  } catch (e) {
    await idms.close();
    throw e;
  }
  let kamailio: RunningKamailio | undefined;
  let mcpttServer: RunningMcpttServer | undefined;
  const groups = [...(o.groups ?? DEMO_GROUPS), ...dispatcherGroups(o.extraGroups ?? 0)];
  if (o.sip) {
    try {
      kamailio = await startKamailio({
        domain: DEV_SIP_DOMAIN,
        ...(o.sipWsPort !== undefined ? { wsPort: o.sipWsPort } : {}),
        ...(o.sipTls ? { tls: {} } : {}),
        appServer: { uri: MCPTT_SERVER_URI, routePsis: groups.map((g) => g.groupId) },
      });
      const issue = kms.issue.bind(kms);
      mcpttServer = await startMcpttServer({
        sipWsUrl: kamailio.wsUrl,
        domain: DEV_SIP_DOMAIN,
        serverUri: MCPTT_SERVER_URI,
        gmsUri: SERVER_IDENTITIES.gms,
        kmsParams: kms.params,
        // The server's own identities (MDSI, GMS) take their keys from the same KMS as users;
        // in-process here instead of over HTTP with a server token.
        keysFor: issue,
        verifyToken: createTokenVerifier({ issuer: idms.issuer, jwksUri: idms.jwksUri }),
        groups,
        users: users.map((u) => u.mcpttId),
        ...(o.xmlProtection !== undefined ? { xmlProtection: o.xmlProtection } : {}),
        http: { port: o.gmsPort ?? 0, corsOrigins: o.webOrigins },
      });
    } catch (e) {
      await Promise.allSettled([kamailio?.close(), kms.close(), idms.close()]);
      throw e;
    }
  }
  const config: DevstackConfig = {
    idms: idms.issuer,
    kms: kms.url,
    kmsUri: DEV_KMS_URI,
    kmsSecurity: security,
    clientId: DEV_CLIENT_ID,
    serverIdentities: SERVER_IDENTITIES,
    ...(kamailio && mcpttServer ? { sip: kamailio.wsUrl, mcpttServer: MCPTT_SERVER_URI, gms: mcpttServer.httpUrl, groups } : {}),
    ...(kamailio && mcpttServer && (o.xmlProtection ?? 'off') !== 'off' ? { xmlProtection: true } : {}),
    ...(kamailio?.wssUrl && kamailio.tlsCertificatePem ? { sipSecure: { url: kamailio.wssUrl, certificatePem: kamailio.tlsCertificatePem } } : {}),
    users: users.map((u) => {
      if (security === 'off') return { ...u };
      const t = bootstrapTransportKey(trkSecret, u.mcpttId);
      return { ...u, transportKey: { id: t.id, keyHex: bytesToHex(t.key) } };
    }),
  };
  return {
    config,
    idms,
    kms,
    ...(kamailio ? { kamailio } : {}),
    ...(mcpttServer ? { mcpttServer } : {}),
    async close() {
      // The MCPTT server first (it unregisters), then the SIP core, then the rest.
      await mcpttServer?.close().catch(() => undefined);
      await kamailio?.close().catch(() => undefined);
      await Promise.allSettled([kms.close(), idms.close()]);
    },
  };
}
