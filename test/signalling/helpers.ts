/**
 * Test fixtures for the signalling suite (TS 33.179 5.6.2.1, 7.3.2, 7.4, 9.1.3.2): a media
 * stand-in for calls, a bare SIP-over-WebSocket endpoint that plays the MCPTT server (MDSI)
 * and receives the third-party REGISTER, a tiny HTTP GMS for the 5.6.1 C-5 pull, polling.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Core, type SessionDescriptionHandler, type SessionDescriptionHandlerFactory } from 'sip.js';
import { WebSocket } from 'ws';

export const STUB_SDP = [
  'v=0',
  'o=- 20518 0 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'a=sendrecv',
  '',
].join('\r\n');

/** Offers and answers a fixed SDP: the signalling layer never looks inside media. */
export function stubSdhFactory(): SessionDescriptionHandlerFactory {
  return (): SessionDescriptionHandler => ({
    close: () => {},
    getDescription: async () => ({ contentType: 'application/sdp', body: STUB_SDP }),
    hasDescription: (contentType: string) => contentType === 'application/sdp',
    setDescription: async () => {},
    sendDtmf: () => false,
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => T | undefined | false, ms = 8_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * The MCPTT server as the SIP core sees it: registers its URI, answers every request with
 * 200 and keeps them. sip.js offers no way to receive a REGISTER, hence a bare endpoint.
 */
export class MdsiEndpoint {
  readonly requests: Core.IncomingRequestMessage[] = [];
  #socket: WebSocket | undefined;
  readonly #pending = new Map<string, (status: number) => void>();
  readonly #logger = (() => {
    const factory = new Core.LoggerFactory();
    factory.builtinEnabled = false;
    return factory.getLogger('mdsi-test');
  })();

  async open(wsUrl: string, aor: string): Promise<void> {
    const socket = new WebSocket(wsUrl, 'sip');
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('message', (data) => this.#receive(String(data)));
    const status = await this.#register(aor);
    if (status !== 200) throw new Error(`the MDSI endpoint could not register (${status})`);
  }

  /** Third-party REGISTERs received for `user` (To), oldest first. */
  registersFor(user: string): Core.IncomingRequestMessage[] {
    return this.requests.filter((r) => r.method === 'REGISTER' && r.to.uri.toString() === user);
  }

  close(): void {
    this.#socket?.close();
  }

  #receive(text: string): void {
    const m = Core.Parser.parseMessage(text, this.#logger);
    if (m instanceof Core.IncomingResponseMessage) {
      this.#pending.get(m.callId)?.(m.statusCode ?? 0);
      return;
    }
    if (!(m instanceof Core.IncomingRequestMessage) || m.method === 'ACK') return;
    this.requests.push(m);
    const to = m.getHeader('to') ?? '';
    const reply = [
      'SIP/2.0 200 OK',
      ...m.getHeaders('via').map((v) => `Via: ${v}`),
      `From: ${m.getHeader('from')}`,
      `To: ${to.includes(';tag=') ? to : `${to};tag=mdsi${this.requests.length}`}`,
      `Call-ID: ${m.callId}`,
      `CSeq: ${m.getHeader('cseq')}`,
      'Content-Length: 0',
      '',
      '',
    ];
    this.#socket!.send(reply.join('\r\n'));
  }

  #register(aor: string): Promise<number> {
    const callId = `mdsi-${Math.random().toString(16).slice(2)}`;
    const host = new URL(aor.replace(/^sip:/, 'sip://')).hostname;
    const request = [
      `REGISTER sip:${host} SIP/2.0`,
      `Via: SIP/2.0/WS mdsi.invalid;branch=z9hG4bK${callId}`,
      'Max-Forwards: 70',
      `From: <${aor}>;tag=m1`,
      `To: <${aor}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 REGISTER',
      'Contact: <sip:mdsi@mdsi.invalid;transport=ws>;expires=600',
      'Content-Length: 0',
      '',
      '',
    ];
    const answered = new Promise<number>((resolve) => this.#pending.set(callId, resolve));
    this.#socket!.send(request.join('\r\n'));
    return answered;
  }
}

/** A GMS serving `GET /gms/v1/groups` with whatever `groups()` returns for the bearer token. */
export interface TestGms {
  readonly url: string;
  readonly requests: { readonly authorization: string | undefined; readonly path: string }[];
  close(): Promise<void>;
}

export async function startTestGms(groups: (token: string) => unknown | undefined): Promise<TestGms> {
  const requests: { authorization: string | undefined; path: string }[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ authorization: req.headers.authorization, path: req.url ?? '' });
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const doc = token === undefined ? undefined : groups(token);
    if (req.method !== 'GET' || req.url !== '/gms/v1/groups') res.writeHead(404).end();
    else if (doc === undefined) res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
