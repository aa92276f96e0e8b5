/**
 * SIP over secure WebSocket (`wss://`, RFC 7118 over TLS) through the dev SIP core: Kamailio
 * 5.6 started by demo/server/kamailio.ts with `tls: {}`, which makes a throwaway self-signed
 * certificate for 127.0.0.1 and hands back its PEM.
 *
 * The SDK's user agents get a WebSocket class (the `ws` package's) that trusts exactly that
 * certificate and nothing else; a client with the default CAs must be refused.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { startKamailio, type RunningKamailio } from '../../demo/server/kamailio.js';
import { createSipUserAgent, type SipUserAgent } from '../../src/platform/sip/index.js';
import { isSipError } from '../../src/platform/sip/errors.js';
import { stubSdhFactory } from '../signalling/helpers.js';

const DOMAIN = 'mcptt.example';
/** `ws`'s WebSocket trusting only `pem` (sip.js constructs it as `new WebSocket(url, 'sip')`). */
function webSocketTrusting(pem: string): new (address: string | URL, protocols?: string | string[]) => WebSocket {
  return class TrustingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { ca: pem });
    }
  };
}

/** Opens a WebSocket and reports how it went: 'open' or the error's code/message. */
async function tryOpen(ws: WebSocket): Promise<string> {
  return await new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
  });
}

describe('SIP over secure WebSocket (wss) through Kamailio', () => {
  const g = globalThis as { WebSocket?: unknown };
  const savedWebSocket = g.WebSocket;
  let kam: RunningKamailio | undefined;
  let pid: number | undefined;
  const agents: SipUserAgent[] = [];

  function agent(name: string): SipUserAgent {
    const ua = createSipUserAgent({
      server: kam!.wssUrl!,
      aor: `sip:${name}@${DOMAIN}`,
      displayName: name,
      serviceAuthorization: 'register',
      sessionDescriptionHandlerFactory: stubSdhFactory(),
      reconnect: { initialMs: 100, maxMs: 800 },
    });
    agents.push(ua);
    return ua;
  }

  beforeAll(async () => {
    kam = await startKamailio({ domain: DOMAIN, tls: {} });
    pid = kam.pid;
    g.WebSocket = webSocketTrusting(kam.tlsCertificatePem!);
  }, 20_000);

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await kam?.close();
    g.WebSocket = savedWebSocket;
    // Our Kamailio (found by its PID, not by name) is gone.
    if (pid !== undefined) expect(() => process.kill(pid!, 0)).toThrow();
  }, 20_000);

  it('hands back a wss URL and a self-signed certificate for 127.0.0.1 and localhost', () => {
    expect(kam!.wssUrl).toBe(`wss://127.0.0.1:${kam!.wssPort}`);
    expect(kam!.wssPort).not.toBe(kam!.wsPort);
    const cert = new X509Certificate(kam!.tlsCertificatePem!);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.issuer).toBe(cert.subject); // self-signed
    expect(kam!.tlsCertificatePem).not.toMatch(/PRIVATE KEY/);
    expect(kam!.config).toMatch(/^enable_tls=yes$/m);
    expect(kam!.config).toMatch(new RegExp(`^listen=tls:127\\.0\\.0\\.1:${kam!.wssPort}$`, 'm'));
  });

  it('registers two user agents over wss; a MESSAGE between them is answered 200', async () => {
    const alice = agent('alice');
    const bob = agent('bob');
    await Promise.all([alice.start(), bob.start()]);
    expect(alice.state).toBe('registered');
    expect(bob.state).toBe('registered');
    const got: { body: string; from: string }[] = [];
    bob.delegate = {
      onKeyNotification: async (body, _contentType, from) => {
        got.push({ body, from });
        return { status: 200 };
      },
    };
    await expect(alice.sendMessage(`sip:bob@${DOMAIN}`, { contentType: 'text/plain', body: 'over TLS' })).resolves.toMatchObject({ status: 200 });
    expect(got).toEqual([{ body: 'over TLS', from: `sip:alice@${DOMAIN}` }]);
  });

  it('refuses a client that trusts only the default CAs (the certificate is not accepted blindly)', async () => {
    // Raw: the TLS handshake fails on certificate verification.
    expect(await tryOpen(new WebSocket(kam!.wssUrl!, 'sip'))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // The same certificate trusted: the upgrade succeeds.
    const Trusting = webSocketTrusting(kam!.tlsCertificatePem!);
    expect(await tryOpen(new Trusting(kam!.wssUrl!, 'sip'))).toBe('open');
    // The SDK's user agent with the default WebSocket cannot connect.
    g.WebSocket = WebSocket;
    try {
      const eve = agent('eve');
      const e = await eve.start().catch((x: unknown) => x);
      expect(isSipError(e) ? e.code : e).toBe('ERR_SIP_TRANSPORT');
      expect(eve.state).toBe('stopped');
    } finally {
      g.WebSocket = webSocketTrusting(kam!.tlsCertificatePem!);
    }
  });

  it('keeps the plain ws listener next to the TLS one', async () => {
    expect(await tryOpen(new WebSocket(kam!.wsUrl, 'sip'))).toBe('open');
  });
});
