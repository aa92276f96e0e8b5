/**
 * The group call INVITE body (TS 24.379 10.1.1.2 as carried over by this SDK; TS 33.179 9.3
 * leaves the mcptt-info elements protectable): multipart/mixed with the SDP offer and an
 * mcptt-info document naming the group (`mcptt-request-uri`), the caller
 * (`mcptt-calling-user-id`) and the `session-type`. Round trips go through sip.js's own SIP
 * parser, and hostile variants must fail with typed errors.
 */
import { describe, expect, it } from 'vitest';
import { Core, Grammar } from 'sip.js';

import {
  MCPTT_INFO_CONTENT_TYPE,
  buildGroupCallOfferBody,
  buildMcpttInfoXml,
  buildMultipartMixed,
  parseGroupCallOfferBody,
  parseMcpttInfoXml,
} from '../../src/codec/sip-bodies.js';
import { errorCode } from '../helpers/errors.js';

const GROUP = 'sip:fire-ops@mcptt.example';
const ALICE = 'sip:alice@mcptt.example';
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';

/** The body as a SIP INVITE carries it, parsed back by sip.js. */
function throughSip(contentType: string, body: string): { contentType: string; body: string } {
  const msg =
    `INVITE sip:mcptt-server@mcptt.example SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\nFrom: <${ALICE}>;tag=1\r\nTo: <sip:mcptt-server@mcptt.example>\r\n` +
    `Call-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const parsed = Core.Parser.parseMessage(msg, { error() {}, warn() {}, log() {}, debug() {} } as never) as Core.IncomingRequestMessage;
  expect(Grammar.parse(parsed.getHeader('content-type')!, 'Content_Type')).not.toBe(-1);
  return { contentType: parsed.getHeader('content-type')!, body: parsed.body };
}

describe('mcptt-info of a group call', () => {
  it('writes and reads the request URI, the calling user and the session type', () => {
    const xml = buildMcpttInfoXml({ requestUri: GROUP, callingUserId: ALICE, sessionType: 'prearranged' });
    expect(xml).toContain('<session-type>prearranged</session-type>');
    expect(xml).toContain(`<mcptt-request-uri type="Normal"><mcpttURI>${GROUP}</mcpttURI></mcptt-request-uri>`);
    expect(xml).toContain(`<mcptt-calling-user-id type="Normal"><mcpttURI>${ALICE}</mcpttURI></mcptt-calling-user-id>`);
    expect(parseMcpttInfoXml(xml)).toEqual({ requestUri: GROUP, callingUserId: ALICE, sessionType: 'prearranged' });
  });

  it('refuses bad values when writing', () => {
    expect(() => buildMcpttInfoXml({ requestUri: 'fire-ops' })).toThrow(TypeError);
    expect(() => buildMcpttInfoXml({ callingUserId: 'sip:a b@x' })).toThrow(TypeError);
    expect(() => buildMcpttInfoXml({ sessionType: 'broadcast' as never })).toThrow(TypeError);
    expect(() => buildMcpttInfoXml({})).toThrow(RangeError);
  });

  it('refuses hostile documents with typed errors', () => {
    const good = buildMcpttInfoXml({ requestUri: GROUP, callingUserId: ALICE, sessionType: 'prearranged' });
    const cases: [string, string, string][] = [
      ['unknown session type', good.replace('prearranged', 'adhoc-broadcast'), 'ERR_SIP_BODY_MALFORMED'],
      ['session type with markup', good.replace('<session-type>prearranged</session-type>', '<session-type><x/>prearranged</session-type>'), 'ERR_SIP_BODY_MALFORMED'],
      ['request URI not a SIP URI', good.replace(`<mcpttURI>${GROUP}`, '<mcpttURI>javascript:alert(1)'), 'ERR_SIP_BODY_MALFORMED'],
      ['calling user not a SIP URI', good.replace(`<mcpttURI>${ALICE}`, '<mcpttURI>alice'), 'ERR_SIP_BODY_MALFORMED'],
      ['request URI twice', good.replace('</mcptt-Params>', `<mcptt-request-uri type="Normal"><mcpttURI>sip:ems@x</mcpttURI></mcptt-request-uri></mcptt-Params>`), 'ERR_SIP_BODY_MISSING_PART'],
      ['session type twice', good.replace('</mcptt-Params>', '<session-type>chat</session-type></mcptt-Params>'), 'ERR_SIP_BODY_MISSING_PART'],
      ['request URI without mcpttURI', good.replace(`<mcpttURI>${GROUP}</mcpttURI>`, ''), 'ERR_SIP_BODY_MALFORMED'],
      ['encrypted request URI (not readable here)', good.replace('<mcptt-request-uri type="Normal">', '<mcptt-request-uri type="Encrypted">'), 'ERR_SIP_BODY_UNSUPPORTED'],
      ['overlong URI', good.replace(GROUP, `sip:${'a'.repeat(300)}@x`), 'ERR_SIP_BODY_MALFORMED'],
    ];
    for (const [what, xml, code] of cases) expect(errorCode(() => parseMcpttInfoXml(xml)), what).toBe(code);
  });
});

describe('group call offer body', () => {
  it('round-trips through a SIP INVITE: the SDP byte for byte, the mcptt-info document', () => {
    const infoXml = buildMcpttInfoXml({ requestUri: GROUP, callingUserId: ALICE, sessionType: 'prearranged' });
    const b = buildGroupCallOfferBody({ sdp: SDP, infoXml });
    expect(b.contentType).toMatch(/^multipart\/mixed;boundary=/);
    const wire = throughSip(b.contentType, b.body);
    const back = parseGroupCallOfferBody(wire.contentType, wire.body);
    expect(back.sdp).toBe(SDP);
    expect(parseMcpttInfoXml(back.infoXml)).toEqual({ requestUri: GROUP, callingUserId: ALICE, sessionType: 'prearranged' });
    // SDP first: a reader that only looks at the first part still finds the offer.
    expect(b.body.indexOf('application/sdp')).toBeLessThan(b.body.indexOf(MCPTT_INFO_CONTENT_TYPE));
  });

  it('refuses an offer without SDP, without mcptt-info, with duplicates or foreign parts', () => {
    const info = { contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ requestUri: GROUP }) };
    const sdp = { contentType: 'application/sdp', content: SDP };
    const cases: [string, { contentType: string; content: string }[], string][] = [
      ['no SDP', [info], 'ERR_SIP_BODY_MISSING_PART'],
      ['no mcptt-info', [sdp], 'ERR_SIP_BODY_MISSING_PART'],
      ['two SDP parts', [sdp, sdp, info], 'ERR_SIP_BODY_MISSING_PART'],
      ['two mcptt-info parts', [sdp, info, info], 'ERR_SIP_BODY_MISSING_PART'],
      ['a foreign part', [sdp, info, { contentType: 'text/plain', content: 'hi' }], 'ERR_SIP_BODY_UNSUPPORTED'],
    ];
    for (const [what, parts, code] of cases) {
      const b = buildMultipartMixed(parts);
      expect(errorCode(() => parseGroupCallOfferBody(b.contentType, b.body)), what).toBe(code);
    }
    expect(errorCode(() => parseGroupCallOfferBody('application/sdp', SDP))).toBeDefined();
  });

  it('refuses to build from something that is not an SDP offer', () => {
    expect(() => buildGroupCallOfferBody({ sdp: 'hello', infoXml: '<x/>' })).toThrow(TypeError);
    expect(() => buildGroupCallOfferBody({ sdp: SDP, infoXml: '' })).toThrow(TypeError);
  });
});
