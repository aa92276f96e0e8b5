// Regenerates the JDK-signed KMS vectors (java-*.xml, java-vectors.json) and the Canonical XML
// oracle outputs (c14n-expected.json) with KmsDsigOracle.java, then has the JDK verify messages
// built by our own codec. Test data tooling, not SDK code:
//   node test/vectors/kms/oracle/gen.mjs        (from the repo root or anywhere; needs a JDK 17+)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..');
const classes = mkdtempSync(join(tmpdir(), 'kms-oracle-'));
const exportsArgs = [
  '--add-exports', 'java.xml.crypto/com.sun.org.apache.xml.internal.security.c14n=ALL-UNNAMED',
  '--add-exports', 'java.xml.crypto/com.sun.org.apache.xml.internal.security=ALL-UNNAMED',
];
execFileSync('javac', [...exportsArgs, '-d', classes, join(here, 'KmsDsigOracle.java')]);
const java = (...args) => execFileSync('java', [...exportsArgs, '-cp', classes, 'KmsDsigOracle', ...args], { encoding: 'utf8' });

const seq = (start, n, step = 1) => Array.from({ length: n }, (_, i) => (start + i * step) & 0xff);
const hex = (a) => Buffer.from(a).toString('hex');
const pad8 = (a) => [...a, ...new Array((8 - (a.length % 8)) % 8).fill(0)];
const keys = {
  'tk.11.user@example.org': hex(seq(0x00, 32)),
  'tk.12.user@example.org': hex(seq(0x20, 32)),
  'tk.13.user@example.org': hex(seq(0x40, 32)),
};
const rsk = [0x04, ...seq(0x11, 256, 7)];
const ssk = seq(0xa0, 32);
const pvt = [0x04, ...seq(0xc3, 64, 5)];
const wrap = (kek, data) => `@@WRAP:${keys[kek]}:${hex(data)}@@`;

const head = `<?xml version="1.0" encoding="UTF-8"?>
<SignedKmsResponse xmlns="urn:3gpp:ns:mcsecKMSSecExt:1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:se="urn:3gpp:ns:mcsecKMSSecExt:1.0"`;
const encKey = (kek, data, carried) => `<EncryptedKey xmlns="http://www.w3.org/2001/04/xmlenc#">
            <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#kw-aes256"/>
            <ds:KeyInfo><ds:KeyName>${kek}</ds:KeyName></ds:KeyInfo>
            <CipherData><CipherValue>${wrap(kek, data)}</CipherValue></CipherData>${carried ? `\n            <CarriedKeyName>${carried}</CarriedKeyName>` : ''}
          </EncryptedKey>`;
const cert = (role, extra = '') => `<KmsCertificate Version="1.1.0" Role="${role}">
        <KmsUri>kms.example.org</KmsUri>
        <CertUri>cert1.kms.example.org</CertUri>
        <Issuer>www.example.org</Issuer>
        <ValidFrom>2024-01-01T00:00:00</ValidFrom>
        <ValidTo>2034-01-01T00:00:00Z</ValidTo>
        <Revoked>false</Revoked>
        <UserIdFormat>2</UserIdFormat>
        <UserKeyPeriod>2592000</UserKeyPeriod>
        <UserKeyOffset>0</UserKeyOffset>
        <PubEncKey>${hex([0x04, ...seq(1, 256)]).toUpperCase()}</PubEncKey>
        <PubAuthKey>${hex([0x04, ...seq(2, 64)]).toUpperCase()}</PubAuthKey>
        <ParameterSet>1</ParameterSet>${extra}
      </KmsCertificate>`;

const templates = {
  // Reference to KmsResponse (v13 Id placement). An explicit HMACOutputLength of 256: the JDK
  // refuses to truncate HMAC-SHA-256 at all, so the CR examples' 128 cannot come from it.
  'java-keyprov.xml': {
    key: 'tk.12.user@example.org', bits: 256, explicitBits: true, ref: 'xmldoc',
    xml: `${head}>
<KmsResponse xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0" Id="xmldoc" Version="1.0.0">
  <KmsUri>kms.example.org</KmsUri>
  <UserUri>sip:alice@example.org</UserUri>
  <Time>2024-02-23T08:39:14</Time>
  <KmsId>KMSProvider12345</KmsId>
  <ClientReqUrl>https://kms.example.org/keymanagement/identity/v1/keyprov</ClientReqUrl>
  <KmsMessage>
    <KmsKeyProv Version="1.0.0" xsi:type="se:KmsKeyProvTkType">
      <KmsKeySet Version="1.1.0">
        <KmsUri>kms.example.org</KmsUri>
        <CertUri>cert1.kms.example.org</CertUri>
        <UserUri>sip:alice@example.org</UserUri>
        <UserID>0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF</UserID>
        <ValidFrom>2024-02-01T00:00:00</ValidFrom>
        <ValidTo>2024-03-01T23:59:59</ValidTo>
        <KeyPeriodNo>1514</KeyPeriodNo>
        <Revoked>false</Revoked>
        <UserDecryptKey xsi:type="se:EncKeyContentType">
          ${encKey('tk.12.user@example.org', pad8(rsk))}
        </UserDecryptKey>
        <UserSigningKeySSK xsi:type="se:EncKeyContentType">
          ${encKey('tk.12.user@example.org', ssk)}
        </UserSigningKeySSK>
        <UserPubTokenPVT xsi:type="se:EncKeyContentType">
          ${encKey('tk.12.user@example.org', pad8(pvt))}
        </UserPubTokenPVT>
      </KmsKeySet>
      <se:NewTransportKey>
          ${encKey('tk.12.user@example.org', seq(0x40, 32), 'tk.13.user@example.org')}
      </se:NewTransportKey>
    </KmsKeyProv>
  </KmsMessage>
  <TrK-ID>tk.12.user@example.org</TrK-ID>
  <Signature-ID>tk.12.user@example.org</Signature-ID>
</KmsResponse>
</SignedKmsResponse>
`,
  },
  // Reference to the wrapper (CR Id placement) with an explicit enveloped-signature transform.
  'java-init-enveloped.xml': {
    key: 'tk.11.user@example.org', bits: 256, ref: 'xmldoc',
    xml: `${head} Id="xmldoc">
<KmsResponse xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0" Version="1.0.0">
  <KmsUri>kms.example.org</KmsUri>
  <UserUri>sip:alice@example.org</UserUri>
  <Time>2024-02-23T08:39:14Z</Time>
  <ClientReqUrl>https://kms.example.org/keymanagement/identity/v1/init</ClientReqUrl>
  <KmsMessage>
    <KmsInit Version="1.0.0" xsi:type="se:KmsInitTkType">
      ${cert('Root', '\n        <KmsDomainList><KmsDomain>example.org</KmsDomain></KmsDomainList>')}
      <se:NewTransportKey>
          ${encKey('tk.11.user@example.org', seq(0x20, 32), 'tk.12.user@example.org')}
      </se:NewTransportKey>
    </KmsInit>
  </KmsMessage>
</KmsResponse>
</SignedKmsResponse>
`,
  },
  'java-certcache.xml': {
    key: 'tk.13.user@example.org', bits: 256, ref: 'cc1',
    xml: `${head}>
<KmsResponse xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0" Id="cc1" Version="1.0.0">
  <KmsUri>kms.example.org</KmsUri>
  <UserUri>sip:alice@example.org</UserUri>
  <Time>2024-02-23T08:39:14+01:00</Time>
  <ClientReqUrl>https://kms.example.org/keymanagement/identity/v1/certcache/7</ClientReqUrl>
  <KmsMessage>
    <KmsCertCache Version="1.0.0" CacheNum="8">
      ${cert('External')}
    </KmsCertCache>
  </KmsMessage>
  <Signature-ID>tk.13.user@example.org</Signature-ID>
</KmsResponse>
</SignedKmsResponse>
`,
  },
  'java-request.xml': {
    key: 'tk.12.user@example.org', bits: 256, ref: 'kmsreq',
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<SignedKmsRequest xmlns="urn:3gpp:ns:mcsecKMSSecExt:1.0" xmlns:ikms="urn:3gpp:ns:mcsecKMSInterface:1.0">
  <KmsRequest Id="kmsreq" Version="1.0.0">
    <UserUri>sip:alice@example.org</UserUri>
    <KmsUri>kms.example.org</KmsUri>
    <Time>2024-02-23T08:39:14Z</Time>
    <ClientId>client-1</ClientId>
    <DeviceId>device-1</DeviceId>
    <ClientReqUrl>https://kms.example.org/keymanagement/identity/v1/keyprov/sip%3Aalice%40example.org/D6B4323200000000</ClientReqUrl>
    <ClientError><ikms:ErrorCode>3</ikms:ErrorCode><ikms:ErrorMsg>previous unwrap failed</ikms:ErrorMsg></ClientError>
    <TrK-ID>tk.12.user@example.org</TrK-ID>
    <Signature-ID>tk.12.user@example.org</Signature-ID>
  </KmsRequest>
</SignedKmsRequest>
`,
  },
};

const tmp = mkdtempSync(join(tmpdir(), 'kms-tpl-'));
for (const [name, t] of Object.entries(templates)) {
  const tpl = join(tmp, name);
  writeFileSync(tpl, t.xml);
  java('sign', tpl, join(out, name), keys[t.key], t.key, t.explicitBits ? String(t.bits) : 'none', t.ref);
  if (java('verify', join(out, name), keys[t.key]).trim() !== 'valid') throw new Error(`${name}: JDK does not verify its own output`);
}
writeFileSync(
  join(out, 'java-vectors.json'),
  JSON.stringify({ note: 'Keys and key material of the java-*.xml vectors (signed and wrapped by the JDK, see oracle/)', transportKeys: keys, rsk: hex(rsk), ssk: hex(ssk), pvt: hex(pvt) }, null, 2) + '\n',
);

const c14nDir = join(here, 'c14n');
const expected = {};
for (const line of java('c14n', c14nDir).trim().split('\n')) {
  const [name, b64] = line.split('\t');
  expected[name] = Buffer.from(b64, 'base64').toString('utf8');
}
if (Object.keys(expected).length !== readdirSync(c14nDir).filter((n) => n.endsWith('.xml')).length) throw new Error('c14n count');
writeFileSync(join(here, 'c14n-expected.json'), JSON.stringify({ note: 'Canonical XML 1.0 of the element named "apex" (else the root) of each c14n/*.xml, by the JDK (Apache Santuario)', expected }, null, 2) + '\n');
// The other direction: responses and a request built by our codec must verify in the JDK.
const repo = join(here, '../../../..');
const ours = join(tmp, 'ours.mts');
const src = (p) => JSON.stringify(join(repo, 'src', p));
writeFileSync(
  ours,
  `import { writeFileSync } from 'node:fs';
import { buildKmsResponse, buildKmsRequest, kmsDateTime } from ${src('codec/kms/index.ts')};
const k = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const sec = { signingKeyId: 'tk.1', signingKey: k, transportKeyId: 'tk.1', transportKey: k, newTransportKeys: [{ id: 'tk.2', key: k.map((b) => b ^ 0xff) }] };
const base = { kmsUri: 'kms.example.org', userUri: 'sip:a@example.org', time: kmsDateTime(0), clientReqUrl: 'https://kms.example.org/x', kmsId: 'K "1" & <2>' };
const ks = { kmsUri: 'kms.example.org', userUri: 'sip:a@example.org', userId: 'AB', keyPeriodNo: 7, userDecryptKey: new Uint8Array(257).fill(3), userSigningKeySSK: k, userPubTokenPVT: new Uint8Array(65).fill(4) };
const cert = { kmsUri: 'kms.example.org', role: 'Root', userIdFormat: '2', userKeyPeriod: 2592000, userKeyOffset: 0, pubEncKey: new Uint8Array(257), pubAuthKey: new Uint8Array(65), kmsDomainList: ['a&b.org'] };
writeFileSync(process.argv[2] + '/keyprov.xml', await buildKmsResponse({ ...base, message: { kind: 'keyprov', keySets: [ks, ks] } }, { security: sec }));
writeFileSync(process.argv[2] + '/init.xml', await buildKmsResponse({ ...base, message: { kind: 'init', certificate: cert } }, { security: sec, indent: '' }));
writeFileSync(process.argv[2] + '/error.xml', await buildKmsResponse({ ...base, error: { errorCode: 12, errorMsg: 'x' } }, { security: { signingKeyId: 'tk.1', signingKey: k } }));
writeFileSync(process.argv[2] + '/request.xml', buildKmsRequest({ baseUrl: 'https://kms.example.org', target: { kind: 'keyprov', identity: 'sip:a@example.org', time: 1n << 63n },
  request: { userUri: 'sip:a@example.org', kmsUri: 'kms.example.org', time: kmsDateTime(0), clientError: { errorCode: 1, errorMsg: 'e' }, trkId: 'tk.1' }, security: { signingKeyId: 'tk.1', signingKey: k } }).body);
`,
);
execFileSync('npx', ['tsx', ours, tmp], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
const k1 = hex(seq(1, 32));
for (const n of ['keyprov', 'init', 'error', 'request']) {
  if (java('verify', join(tmp, `${n}.xml`), k1).trim() !== 'valid') throw new Error(`JDK does not verify our ${n}`);
}
console.log('ok');
