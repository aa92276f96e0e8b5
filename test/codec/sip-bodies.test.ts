/**
 * RFC 2046 multipart/mixed SIP bodies of TS 33.179 5.6.2.1 / 9.1.3.2 (REGISTER service
 * authorization) and 7.3.2 (GMK notification), checked through sip.js's own SIP parser:
 * each body goes into a whole SIP message, sip.js parses the message, and the body it hands
 * out is parsed back. The I_MESSAGEs are published interop messages from ../shared/vectors.
 */
import { describe, expect, it } from 'vitest';
import { Core, Grammar } from 'sip.js';

import {
  DEFAULT_MULTIPART_LIMITS,
  MCPTT_INFO_CONTENT_TYPE,
  MIKEY_CONTENT_TYPE,
  buildGmkNotificationBody,
  buildMcpttInfoXml,
  buildMultipartMixed,
  buildServiceAuthorizationBody,
  mikeyPart,
  parseContentType,
  parseGmkNotificationBody,
  parseMcpttInfoXml,
  parseMultipartMixed,
  parseServiceAuthorizationBody,
} from '../../src/codec/sip-bodies.js';
import { decodeIMessage } from '../../src/codec/mikey/index.js';
import { sharedVector } from '../helpers/shared.js';
import { errorCode } from '../helpers/errors.js';

interface InteropMessage {
  readonly title: string;
  readonly i_message_b64: string;
}
const sets = sharedVector<{ i_message_sets: { messages: InteropMessage[] }[] }>('impl-mikey-sakke-published-interop').i_message_sets;
const all = sets.flatMap((s) => s.messages);
const bytesOf = (title: string): Uint8Array => {
  const m = all.find((x) => x.title === title);
  if (!m) throw new Error(`no interop message ${title}`);
  return new Uint8Array(Buffer.from(m.i_message_b64, 'base64'));
};
const GMK_1 = bytesOf('1: GMK');
const GMK_4 = bytesOf('4: GMK (legacy format for IWF)');
const CSK = bytesOf('2: CSK');

// A JWT-shaped token (header.payload.signature, base64url): what the IdMS hands out.
const TOKEN =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldiJ9.eyJtY3B0dF9pZCI6InNpcDphbGljZUBtY3B0dC5leGFtcGxlIiwic2NvcGUiOiIzZ3BwOm1jcHR0OnB0dF9zZXJ2ZXIifQ.c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmU';

const silentLogger = new Core.LoggerFactory();
silentLogger.builtinEnabled = false;
const logger = silentLogger.getLogger('test');

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/** A whole SIP request as it travels, parsed by sip.js. */
function parseWithSipJs(method: string, ruri: string, contentType: string, body: string): Core.IncomingRequestMessage {
  const text = [
    `${method} ${ruri} SIP/2.0`,
    'Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKnashds7',
    'Max-Forwards: 70',
    'From: <sip:alice@mcptt.example>;tag=1928301774',
    `To: <${method === 'REGISTER' ? 'sip:alice@mcptt.example' : ruri}>`,
    'Call-ID: a84b4c76e66710',
    `CSeq: 1 ${method}`,
    'Contact: <sip:q3v2j5ds@df7jal23ls0d.invalid;transport=ws>;expires=600',
    `Content-Type: ${contentType}`,
    `Content-Length: ${utf8Length(body)}`,
    '',
    body,
  ].join('\r\n');
  const msg = Core.Parser.parseMessage(text, logger);
  if (!(msg instanceof Core.IncomingRequestMessage)) throw new Error('sip.js did not parse the request');
  return msg;
}

const codeOf = errorCode;

describe('REGISTER service authorization body (TS 33.179 5.6.2.1, 9.1.3.2)', () => {
  it('carries the access token and the CSK I_MESSAGE through a REGISTER parsed by sip.js', () => {
    const b = buildServiceAuthorizationBody({ accessToken: TOKEN, cskIMessage: CSK });
    expect(b.contentType).toMatch(/^multipart\/mixed;boundary=mcptt-[0-9a-f]{36}$/);
    const msg = parseWithSipJs('REGISTER', 'sip:mcptt.example', b.contentType, b.body);
    expect(msg.method).toBe('REGISTER');
    expect(msg.body).toBe(b.body);
    const ct = msg.getHeader('content-type')!;
    expect(Grammar.parse(ct, 'Content_Type')).not.toBe(-1);
    const back = parseServiceAuthorizationBody(ct, msg.body);
    expect(back.accessToken).toBe(TOKEN);
    expect(back.cskIMessage).toEqual(CSK);
    // The CSK message is still a valid I_MESSAGE after the trip.
    expect(() => decodeIMessage(back.cskIMessage!)).not.toThrow();
  });

  it('survives sip.js building the REGISTER (its Content-Length) and parsing it again', () => {
    const b = buildServiceAuthorizationBody({ accessToken: TOKEN, cskIMessage: CSK });
    const out = new Core.OutgoingRequestMessage(
      'REGISTER',
      Grammar.URIParse('sip:mcptt.example')!,
      Grammar.URIParse('sip:alice@mcptt.example')!,
      Grammar.URIParse('sip:alice@mcptt.example')!,
      { callId: 'reg-1', cseq: 7, viaHost: 'df7jal23ls0d.invalid' },
      ['Contact: <sip:q3v2j5ds@df7jal23ls0d.invalid;transport=ws>;expires=600'],
      { contentDisposition: 'render', contentType: b.contentType, content: b.body },
    );
    out.setViaHeader('z9hG4bK776asdhds', 'WSS');
    const msg = Core.Parser.parseMessage(out.toString(), logger) as Core.IncomingRequestMessage;
    expect(msg.getHeader('content-length')).toBe(String(utf8Length(b.body)));
    expect(parseServiceAuthorizationBody(msg.getHeader('content-type')!, msg.body)).toEqual({ accessToken: TOKEN, cskIMessage: CSK });
  });

  it('writes the exact layout: I_MESSAGE part first, CRLF line ends, base64 in 76-character lines', () => {
    const b = buildServiceAuthorizationBody({ accessToken: TOKEN, cskIMessage: CSK }, { boundary: 'b1' });
    expect(b.contentType).toBe('multipart/mixed;boundary=b1');
    const b64 = Buffer.from(CSK).toString('base64');
    const lines = b64.match(/.{1,76}/g)!.join('\r\n');
    expect(b.body).toBe(
      '--b1\r\n' +
        'Content-Type: application/mikey\r\n' +
        'Content-Transfer-Encoding: base64\r\n' +
        '\r\n' +
        `${lines}\r\n` +
        '--b1\r\n' +
        'Content-Type: application/vnd.3gpp.mcptt-info+xml\r\n' +
        '\r\n' +
        '<?xml version="1.0" encoding="UTF-8"?><mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0"><mcptt-Params>' +
        `<mcptt-access-token type="Normal"><mcpttString>${TOKEN}</mcpttString></mcptt-access-token>` +
        '</mcptt-Params></mcpttinfo>\r\n' +
        '--b1--\r\n',
    );
    expect(b.body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(/^[\x20-\x7e\r\n]*$/.test(b.body)).toBe(true);
  });

  it('takes a token alone (multipart or a lone mcptt-info body) or a CSK alone, never nothing', () => {
    const t = buildServiceAuthorizationBody({ accessToken: TOKEN });
    expect(parseServiceAuthorizationBody(t.contentType, t.body)).toEqual({ accessToken: TOKEN });
    const c = buildServiceAuthorizationBody({ cskIMessage: CSK });
    expect(parseServiceAuthorizationBody(c.contentType, c.body)).toEqual({ cskIMessage: CSK });
    const xml = buildMcpttInfoXml({ accessToken: TOKEN });
    expect(parseServiceAuthorizationBody(MCPTT_INFO_CONTENT_TYPE, xml)).toEqual({ accessToken: TOKEN });
    expect(() => buildServiceAuthorizationBody({})).toThrow(RangeError);
    // A lone binary MIKEY body cannot ride a WebSocket text frame: refused.
    expect(codeOf(() => parseServiceAuthorizationBody(MIKEY_CONTENT_TYPE, 'AQID'))).toBe('ERR_SIP_BODY_UNSUPPORTED');
  });

  it('refuses two tokens or two CSKs', () => {
    const twoCsk = buildMultipartMixed([mikeyPart(CSK), mikeyPart(CSK)]);
    expect(codeOf(() => parseServiceAuthorizationBody(twoCsk.contentType, twoCsk.body))).toBe('ERR_SIP_BODY_MISSING_PART');
    const info = { contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ accessToken: TOKEN }) };
    const twoInfo = buildMultipartMixed([info, info]);
    expect(codeOf(() => parseServiceAuthorizationBody(twoInfo.contentType, twoInfo.body))).toBe('ERR_SIP_BODY_MISSING_PART');
  });
});

describe('GMK notification body (TS 33.179 7.3.2)', () => {
  it('carries the group ID and two GMK I_MESSAGEs through a MESSAGE parsed by sip.js', () => {
    const b = buildGmkNotificationBody({ groupId: 'sip:fire-ops@mcptt.example', iMessages: [GMK_1, GMK_4] });
    const msg = parseWithSipJs('MESSAGE', 'sip:bob@mcptt.example', b.contentType, b.body);
    const back = parseGmkNotificationBody(msg.getHeader('content-type')!, msg.body);
    expect(back.groupId).toBe('sip:fire-ops@mcptt.example');
    expect(back.iMessages).toEqual([GMK_1, GMK_4]);
    for (const m of back.iMessages) expect(() => decodeIMessage(m)).not.toThrow();
  });

  it('fits many I_MESSAGEs (several KB) and reads them in order through a NOTIFY', () => {
    const many = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? GMK_1 : GMK_4));
    const b = buildGmkNotificationBody({ groupId: 'sip:fire-ops@mcptt.example', iMessages: many });
    expect(b.body.length).toBeGreaterThan(4096);
    const msg = parseWithSipJs('NOTIFY', 'sip:bob@mcptt.example', b.contentType, b.body);
    expect(parseGmkNotificationBody(msg.getHeader('content-type')!, msg.body).iMessages).toEqual(many);
  });

  it('needs a group ID and at least one I_MESSAGE', () => {
    const noGroup = buildMultipartMixed([mikeyPart(GMK_1)]);
    expect(codeOf(() => parseGmkNotificationBody(noGroup.contentType, noGroup.body))).toBe('ERR_SIP_BODY_MISSING_PART');
    const noKey = buildMultipartMixed([{ contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ groupId: 'sip:g@x' }) }]);
    expect(codeOf(() => parseGmkNotificationBody(noKey.contentType, noKey.body))).toBe('ERR_SIP_BODY_MISSING_PART');
    const tokenOnly = buildMultipartMixed([{ contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ accessToken: TOKEN }) }, mikeyPart(GMK_1)]);
    expect(codeOf(() => parseGmkNotificationBody(tokenOnly.contentType, tokenOnly.body))).toBe('ERR_SIP_BODY_MISSING_PART');
    const extra = buildMultipartMixed([
      { contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ groupId: 'sip:g@x' }) },
      mikeyPart(GMK_1),
      { contentType: 'text/plain', content: 'hello' },
    ]);
    expect(codeOf(() => parseGmkNotificationBody(extra.contentType, extra.body))).toBe('ERR_SIP_BODY_UNSUPPORTED');
    expect(() => buildGmkNotificationBody({ groupId: 'sip:g@x', iMessages: [] })).toThrow(RangeError);
    expect(() => buildGmkNotificationBody({ groupId: 'not a uri', iMessages: [GMK_1] })).toThrow(TypeError);
  });
});

describe('multipart/mixed (RFC 2046 5.1)', () => {
  const parts = [
    { contentType: MCPTT_INFO_CONTENT_TYPE, content: buildMcpttInfoXml({ groupId: 'sip:g@mcptt.example' }), contentId: 'info@mcptt.example' },
    mikeyPart(GMK_1),
  ];

  it('round-trips Content-ID, Content-Type parameters and a quoted boundary with a space', () => {
    const b = buildMultipartMixed(
      [{ contentType: 'text/plain; charset="utf-8"', content: 'héllo\r\nwörld' }, ...parts],
      { boundary: "odd boundary'(+_,-./:=?" },
    );
    expect(b.contentType).toBe(`multipart/mixed;boundary="odd boundary'(+_,-./:=?"`);
    const msg = parseWithSipJs('MESSAGE', 'sip:bob@mcptt.example', b.contentType, b.body);
    const p = parseMultipartMixed(msg.getHeader('content-type')!, msg.body);
    expect(p.map((x) => x.mediaType)).toEqual(['text/plain', MCPTT_INFO_CONTENT_TYPE, MIKEY_CONTENT_TYPE]);
    expect(p[0]!.params).toEqual({ charset: 'utf-8' });
    expect(p[0]!.content).toBe('héllo\r\nwörld');
    expect(p[1]!.contentId).toBe('info@mcptt.example');
    expect(p[2]!.transferEncoding).toBe('base64');
  });

  it('ignores a preamble, transport padding and an epilogue; accepts folded part headers', () => {
    const body =
      'This is the preamble.\r\n--xyz  \t\r\n' +
      'Content-Type:\r\n application/vnd.3gpp.mcptt-info+xml\r\n\r\n' +
      buildMcpttInfoXml({ groupId: 'sip:g@mcptt.example' }) +
      '\r\n--xyz\r\ncontent-type: application/mikey\r\nCONTENT-TRANSFER-ENCODING: BASE64\r\n\r\n' +
      Buffer.from(GMK_1).toString('base64') +
      '\r\n--xyz--\r\nepilogue';
    const g = parseGmkNotificationBody('Multipart/Mixed ; Boundary = xyz', body);
    expect(g).toEqual({ groupId: 'sip:g@mcptt.example', iMessages: [GMK_1] });
  });

  it('chooses a boundary that does not occur in any part', () => {
    for (let i = 0; i < 20; i++) {
      const b = buildMultipartMixed(parts);
      const boundary = parseContentType(b.contentType).params['boundary']!;
      for (const p of parts) expect(p.content.includes(`--${boundary}`)).toBe(false);
    }
    expect(() => buildMultipartMixed([{ contentType: 'text/plain', content: 'x\r\n--b1\r\n' }], { boundary: 'b1' })).toThrow(RangeError);
    expect(() => buildMultipartMixed([{ contentType: 'text/plain', content: 'x' }], { boundary: 'ends with space ' })).toThrow(TypeError);
    expect(() => buildMultipartMixed([])).toThrow(RangeError);
  });

  describe('refuses malformed or hostile input with a typed error', () => {
    const good = buildGmkNotificationBody({ groupId: 'sip:g@mcptt.example', iMessages: [GMK_1] }, { boundary: 'B' });
    const ct = good.contentType;
    const cases: [string, string, string, string][] = [
      ['no close delimiter', ct, good.body.replace('--B--\r\n', ''), 'ERR_SIP_BODY_MALFORMED'],
      ['no boundary parameter', 'multipart/mixed', good.body, 'ERR_SIP_BODY_MALFORMED'],
      ['boundary absent from the body', 'multipart/mixed;boundary=Q', good.body, 'ERR_SIP_BODY_MALFORMED'],
      ['not multipart', 'application/sdp', good.body, 'ERR_SIP_BODY_UNSUPPORTED'],
      ['bad Content-Type syntax', 'multipart/mixed;boundary', good.body, 'ERR_SIP_BODY_MALFORMED'],
      ['unterminated quoted boundary', 'multipart/mixed;boundary="B', good.body, 'ERR_SIP_BODY_MALFORMED'],
      ['LF line ends', ct, good.body.replace(/\r\n/g, '\n'), 'ERR_SIP_BODY_MALFORMED'],
      ['part without Content-Type', ct, good.body.replace('Content-Type: application/vnd.3gpp.mcptt-info+xml\r\n', 'X-Other: 1\r\n'), 'ERR_SIP_BODY_MALFORMED'],
      ['two Content-Types in a part', ct, good.body.replace('Content-Type: application/mikey\r\n', 'Content-Type: application/mikey\r\nContent-Type: text/plain\r\n'), 'ERR_SIP_BODY_MALFORMED'],
      ['MIKEY not base64', ct, good.body.replace('Content-Transfer-Encoding: base64\r\n', ''), 'ERR_SIP_BODY_UNSUPPORTED'],
      ['MIKEY as binary', ct, good.body.replace('Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: binary'), 'ERR_SIP_BODY_UNSUPPORTED'],
      ['white space inside base64', ct, good.body.replace(/(\r\n\r\n)([A-Za-z0-9+/]+)/, '$1 $2'), 'ERR_SIP_BODY_MALFORMED'],
      ['base64 with non-zero spare bits', ct, good.body.replace(/([A-Za-z0-9+/])(==?)(\r\n--B--)/, (_m, c: string, pad: string, rest: string) => `${c === 'B' ? 'C' : 'B'}${pad}${rest}`), 'ERR_SIP_BODY_MALFORMED'],
      ['close before any part', ct, '--B--\r\n', 'ERR_SIP_BODY_MALFORMED'],
      ['garbage after a delimiter', ct, good.body.replace('--B\r\nContent-Type: application/mikey', '--Bx\r\nContent-Type: application/mikey'), 'ERR_SIP_BODY_MALFORMED'],
      ['header without a colon', ct, good.body.replace('Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding base64'), 'ERR_SIP_BODY_MALFORMED'],
      ['no blank line after the part headers', ct, '--B\r\nContent-Type: text/plain\r\n--B--\r\n', 'ERR_SIP_BODY_MALFORMED'],
      ['encrypted access token', 'application/vnd.3gpp.mcptt-info+xml', buildMcpttInfoXml({ accessToken: TOKEN }).replace('type="Normal"', 'type="Encrypted"'), 'ERR_SIP_BODY_UNSUPPORTED'],
    ];
    for (const [name, contentType, body, code] of cases) {
      it(name, () => {
        const parse = contentType.startsWith('application/vnd')
          ? () => parseServiceAuthorizationBody(contentType, body)
          : () => parseGmkNotificationBody(contentType, body);
        expect(codeOf(parse)).toBe(code);
      });
    }

    it('bounds the size and the number of parts', () => {
      const big = 'x'.repeat(DEFAULT_MULTIPART_LIMITS.maxBytes);
      const huge = buildMultipartMixed([{ contentType: 'text/plain', content: big }]);
      expect(codeOf(() => parseMultipartMixed(huge.contentType, huge.body))).toBe('ERR_SIP_BODY_TOO_LARGE');
      const many = buildMultipartMixed(Array.from({ length: DEFAULT_MULTIPART_LIMITS.maxParts + 1 }, () => mikeyPart(GMK_1)));
      expect(codeOf(() => parseMultipartMixed(many.contentType, many.body))).toBe('ERR_SIP_BODY_TOO_LARGE');
      expect(parseMultipartMixed(many.contentType, many.body, { maxParts: 32 })).toHaveLength(17);
      expect(codeOf(() => parseMultipartMixed(many.contentType, many.body, { maxBytes: 1000 }))).toBe('ERR_SIP_BODY_TOO_LARGE');
      const headers = Array.from({ length: 20 }, (_, i) => `X-H${i}: v`).join('\r\n');
      expect(codeOf(() => parseMultipartMixed('multipart/mixed;boundary=B', `--B\r\nContent-Type: text/plain\r\n${headers}\r\n\r\nx\r\n--B--`))).toBe('ERR_SIP_BODY_TOO_LARGE');
    });
  });
});

describe('mcptt-info XML', () => {
  it('round-trips the token and the group ID and ignores unknown elements', () => {
    expect(parseMcpttInfoXml(buildMcpttInfoXml({ accessToken: TOKEN, groupId: 'sip:g@mcptt.example' }))).toEqual({
      accessToken: TOKEN,
      groupId: 'sip:g@mcptt.example',
    });
    const withExtra =
      '<m:mcpttinfo xmlns:m="urn:3gpp:ns:mcpttInfo:1.0"><m:mcptt-Params><m:mcptt-request-uri type="Normal"><m:mcpttURI>sip:x@y</m:mcpttURI></m:mcptt-request-uri>' +
      '<m:mcptt-access-token><m:mcpttString> abc.def </m:mcpttString></m:mcptt-access-token></m:mcptt-Params><anyExt xmlns="urn:other"/></m:mcpttinfo>';
    expect(parseMcpttInfoXml(withExtra)).toEqual({ accessToken: 'abc.def', requestUri: 'sip:x@y' }); // request URI: read since group calls
  });

  it('refuses DTDs, wrong namespaces, duplicates and values of the wrong shape', () => {
    const ok = buildMcpttInfoXml({ accessToken: TOKEN });
    expect(codeOf(() => parseMcpttInfoXml('<!DOCTYPE x [<!ENTITY a "b">]>' + ok.slice(ok.indexOf('?>') + 2)))).toBe('ERR_SIP_BODY_MALFORMED');
    expect(codeOf(() => parseMcpttInfoXml(ok.replace('urn:3gpp:ns:mcpttInfo:1.0', 'urn:other')))).toBe('ERR_SIP_BODY_MALFORMED');
    expect(codeOf(() => parseMcpttInfoXml(ok.replace('<mcptt-Params>', '<mcptt-Params><mcptt-access-token><mcpttString>a</mcpttString></mcptt-access-token>')))).toBe(
      'ERR_SIP_BODY_MISSING_PART',
    );
    expect(codeOf(() => parseMcpttInfoXml(ok.replace(TOKEN, 'not a token')))).toBe('ERR_SIP_BODY_MALFORMED');
    expect(codeOf(() => parseMcpttInfoXml('<mcpttinfo xmlns="urn:3gpp:ns:mcpttInfo:1.0"/>'))).toBe('ERR_SIP_BODY_MALFORMED');
    expect(codeOf(() => parseMcpttInfoXml('<mcpttinfo'))).toBe('ERR_SIP_BODY_MALFORMED');
    expect(() => buildMcpttInfoXml({ accessToken: 'a<b' })).toThrow(TypeError);
    expect(() => buildMcpttInfoXml({})).toThrow(RangeError);
  });
});
