/**
 * TS 33.179 9.3 benchmark cases: the mcpttinfo of a registration (9.1.3.2) protected under a
 * CSK and read back — `xml.protect` (encrypt the token, Id, sign) and `xml.unprotect` (verify,
 * decrypt). The token has the size of the dev IdMS's RS256 access tokens (about 900 octets).
 */
import { buildMcpttInfoXml } from '../src/codec/sip-bodies.js';
import { protectMcpttInfo, singleCskLookup, unprotectMcpttInfo } from '../src/codec/xml-protect/index.js';
import { hexToBytes } from '../src/util/bytes.js';
import type { BenchCase } from './measure.js';

// Fixed, non-secret benchmark material.
const CSK = { key: hexToBytes('00112233445566778899aabbccddeeff'), keyId: hexToBytes('20a1b2c3') };
const MCPTT_ID = 'sip:alice@bench.example';
const TOKEN = `eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.${'QmVuY2htYXJrUGF5bG9hZA'.repeat(18)}.${'c2lnbmF0dXJl'.repeat(28)}`;

export function xmlProtectCases(): BenchCase[] {
  const plain = buildMcpttInfoXml({ accessToken: TOKEN });
  return [
    {
      name: 'xml.protect',
      setup: () => () => protectMcpttInfo(plain, CSK, MCPTT_ID),
    },
    {
      name: 'xml.unprotect',
      setup: async () => {
        const prot = await protectMcpttInfo(plain, CSK, MCPTT_ID);
        const lookup = singleCskLookup(CSK, MCPTT_ID);
        return () => unprotectMcpttInfo(prot, lookup, { required: true });
      },
    },
  ];
}
