/**
 * The SIP core of the dev MCPTT system: Kamailio 5.6 (Debian `kamailio` +
 * `kamailio-websocket-modules`) as a registrar and proxy reached over SIP over WebSocket
 * (RFC 7118), the way a browser MCPTT client reaches the SIP core of TS 23.179 (SIP-1).
 *
 * `startKamailio` renders `kamailio/kamailio.cfg` into a private temp dir, runs Kamailio in
 * the foreground (`-DD -E`) as a child process with its own runtime dir and PID file, waits
 * until the WebSocket port accepts connections, and gives back `close()`, which stops that
 * process by its PID (SIGTERM, then SIGKILL of its process group) and removes the temp dir.
 * Several instances can run side by side; nothing needs root and nothing outside loopback.
 *
 * With `tls`, a second listener serves SIP over secure WebSocket (`wss://`) with a throwaway
 * self-signed certificate made by `openssl` in that temp dir; its PEM comes back in
 * `tlsCertificatePem` so a client can trust exactly that certificate. The plain `ws://`
 * listener stays.
 *
 * Dev only: no SIP authentication (see the config's header).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KamailioAppServer {
  /** The MCPTT server's own SIP URI, e.g. `sip:mcptt-server@mcptt.example`. */
  readonly uri: string;
  /**
   * Public service identities whose requests go to the MCPTT server: group PSIs and the
   * server's address. Kamailio looks each one up as a registered AOR first (the server may
   * register them itself) and otherwise sends the request to the contacts registered for
   * `uri`. The original target travels in P-Called-Party-ID.
   */
  readonly routePsis: readonly string[];
}

export interface KamailioOptions {
  /** Loopback address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** TCP port of the WebSocket listener; 0 or absent picks a free port. */
  readonly wsPort?: number;
  /** UDP port of the plain SIP listener; 0 or absent picks a free port. */
  readonly udpPort?: number;
  /** The SIP domain served, e.g. `mcptt.example`. */
  readonly domain: string;
  readonly appServer?: KamailioAppServer;
  /** Kamailio info-level logs copied to this process's stderr; default quiet (errors only, kept for failure reports). */
  readonly debug?: boolean;
  /** Kamailio binary (default /usr/sbin/kamailio). */
  readonly binary?: string;
  /** Module directory (default the Debian one). */
  readonly modulePath?: string;
  /** How long to wait for the WebSocket port(s) (default 10 s). */
  readonly startTimeoutMs?: number;
  /**
   * Also serve SIP over secure WebSocket (`wss://`) on a TLS listener, with a throwaway
   * self-signed certificate for the host (and `localhost`) generated at start.
   */
  readonly tls?: KamailioTlsOptions;
  /** openssl binary used to make the certificate (default `openssl` from PATH). */
  readonly opensslBinary?: string;
}

export interface KamailioTlsOptions {
  /** TCP port of the TLS (wss) listener; 0 or absent picks a free port. */
  readonly port?: number;
}

export interface RunningKamailio {
  /** `ws://<host>:<port>`: the `server` of the SDK's SIP user agent. */
  readonly wsUrl: string;
  /** `wss://<host>:<port>` when started with `tls`, else undefined. */
  readonly wssUrl: string | undefined;
  readonly host: string;
  readonly wsPort: number;
  /** Port of the TLS listener when started with `tls`, else undefined. */
  readonly wssPort: number | undefined;
  /**
   * The self-signed certificate (PEM) of the TLS listener when started with `tls`, else
   * undefined: what a client should trust, and nothing else. Its key never leaves the temp dir.
   */
  readonly tlsCertificatePem: string | undefined;
  readonly udpPort: number;
  readonly domain: string;
  /** PID of the Kamailio main process (it leads its own process group). */
  readonly pid: number;
  /** The rendered configuration (for debugging a test). */
  readonly config: string;
  /** The last lines Kamailio wrote to stderr. */
  stderrTail(): string;
  /** Stops Kamailio (SIGTERM, then SIGKILL after 3 s) and removes its temp dir; idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_KAMAILIO_BINARY = '/usr/sbin/kamailio';
export const DEFAULT_KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';

const TEMPLATE_URL = new URL('./kamailio/kamailio.cfg', import.meta.url);
const TLS_TEMPLATE_URL = new URL('./kamailio/tls.cfg', import.meta.url);
const STDERR_TAIL_BYTES = 16 * 1024;
const STOP_GRACE_MS = 3_000;

// What may be pasted into the config: anything else could inject routing script.
const HOST_RE = /^127\.(?:\d{1,3})\.(?:\d{1,3})\.(?:\d{1,3})$/;
const DOMAIN_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const SIP_AOR_RE = /^sip:([A-Za-z0-9._~+-]{1,64})@([A-Za-z0-9.-]{1,253})$/;
const PATH_RE = /^\/[A-Za-z0-9._/-]*$/;

export interface KamailioConfigParams {
  readonly host: string;
  readonly wsPort: number;
  readonly udpPort: number;
  readonly domain: string;
  readonly appServer?: KamailioAppServer;
  readonly debug: boolean;
  readonly modulePath: string;
  /** TLS listener: its port and the path of the rendered tls.cfg. Absent: no TLS at all. */
  readonly tls?: { readonly port: number; readonly configPath: string };
}

export interface KamailioTlsConfigParams {
  readonly certFile: string;
  readonly keyFile: string;
}

function checkPort(p: number, what: string): void {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`${what} must be an integer port 1..65535`);
}

function checkAor(uri: string, what: string): string {
  if (typeof uri !== 'string' || !SIP_AOR_RE.test(uri)) {
    throw new TypeError(`${what} must be a plain sip:user@host URI (letters, digits, ._~+-), got ${JSON.stringify(uri)}`);
  }
  return uri;
}

function renderAppServerRoute(as: KamailioAppServer | undefined): string {
  if (as === undefined || as.routePsis.length === 0) return '\treturn;';
  const asUri = checkAor(as.uri, 'appServer.uri');
  const psis = as.routePsis.map((p, i) => checkAor(p, `appServer.routePsis[${i}]`));
  const cond = psis.map((p) => `$var(aor) == "${p}"`).join(' || ');
  return [
    '\t$var(aor) = "sip:" + $rU + "@" + $rd;',
    `\tif (!(${cond})) {`,
    '\t\treturn;',
    '\t}',
    '\tremove_hf("P-Called-Party-ID");',
    '\tappend_hf("P-Called-Party-ID: <$var(aor)>\\r\\n");',
    '\tif (!lookup("location")) {',
    `\t\tif (!lookup("location", "${asUri}")) {`,
    '\t\t\tsl_send_reply("404", "Not Found");',
    '\t\t\texit;',
    '\t\t}',
    '\t}',
    '\troute(RELAY);',
  ].join('\n');
}

function renderThirdPartyRegister(as: KamailioAppServer | undefined, domain: string): string {
  if (as === undefined) return '\treturn;';
  const asUri = checkAor(as.uri, 'appServer.uri');
  return [
    '\tif ($rb == $null || $rb == "") {',
    '\t\treturn;',
    '\t}',
    `\tif (!reg_fetch_contacts("location", "${asUri}", "as")) {`,
    '\t\treturn;',
    '\t}',
    '\t$var(next) = $(ulc(as=>received)[0]);',
    '\tif ($var(next) == $null || $var(next) == "") {',
    '\t\t$var(next) = $(ulc(as=>addr)[0]);',
    '\t}',
    '\treg_free_contacts("as");',
    '\t$var(expires) = $(ct{tobody.params}{param.value,expires});',
    '\tif ($var(expires) == "") {',
    '\t\t$var(expires) = $hdr(Expires);',
    '\t}',
    '\t$uac_req(method) = "REGISTER";',
    `\t$uac_req(ruri) = "${asUri}";`,
    `\t$uac_req(furi) = "sip:registrar@${domain}";`,
    '\t$uac_req(turi) = "sip:" + $tU + "@" + $td;',
    '\t$uac_req(ouri) = $var(next);',
    `\t$uac_req(hdrs) = "Contact: <sip:registrar@${domain}>\\r\\nExpires: " + $var(expires) + "\\r\\nContent-Type: " + $cT + "\\r\\n";`,
    '\t$uac_req(body) = $rb;',
    '\tuac_req_send();',
  ].join('\n');
}

function renderTlsListen(host: string, tls: KamailioConfigParams['tls']): string {
  if (tls === undefined) return '';
  return [
    '# SIP over secure WebSocket (wss): TLS listener, the HTTP upgrade is served on it too.',
    'enable_tls=yes',
    `listen=tls:${host}:${tls.port}`,
  ].join('\n');
}

function renderTlsModule(tls: KamailioConfigParams['tls']): string {
  if (tls === undefined) return '';
  return [
    '# tls: loaded first (before anything else that could use libssl); profiles in tls.cfg.',
    'loadmodule "tls.so"',
    `modparam("tls", "config", "${tls.configPath}")`,
  ].join('\n');
}

/** Replaces `{{NAME}}` placeholders; a placeholder alone on a line that renders empty takes its line with it. */
function fillPlaceholders(template: string, values: Readonly<Record<string, string>>, file: string): string {
  const value = (name: string): string => {
    const v = values[name];
    if (v === undefined) throw new Error(`${file}: unknown placeholder {{${name}}}`);
    return v;
  };
  return template
    .replace(/^\{\{([A-Z_]+)\}\}\n/gm, (_m, name: string) => {
      const v = value(name);
      return v === '' ? '' : `${v}\n`;
    })
    .replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => value(name));
}

/** Fills the template's placeholders with checked values; throws on anything unsafe. */
export function renderKamailioConfig(template: string, p: KamailioConfigParams): string {
  if (!HOST_RE.test(p.host)) throw new RangeError('Kamailio binds to a 127.0.0.0/8 address only');
  checkPort(p.wsPort, 'wsPort');
  checkPort(p.udpPort, 'udpPort');
  if (!DOMAIN_RE.test(p.domain)) throw new TypeError(`invalid SIP domain ${JSON.stringify(p.domain)}`);
  if (!PATH_RE.test(p.modulePath)) throw new TypeError('modulePath must be a plain absolute path');
  if (p.tls !== undefined) {
    checkPort(p.tls.port, 'tls.port');
    if (p.tls.port === p.wsPort) throw new RangeError('tls.port must differ from wsPort');
    if (!PATH_RE.test(p.tls.configPath)) throw new TypeError('tls configPath must be a plain absolute path');
  }
  const values: Record<string, string> = {
    DEBUG_LEVEL: p.debug ? '2' : '-1',
    HOST: p.host,
    WS_PORT: String(p.wsPort),
    UDP_PORT: String(p.udpPort),
    DOMAIN: p.domain,
    MODULE_PATH: p.modulePath,
    APPSERVER_ROUTE: renderAppServerRoute(p.appServer),
    THIRD_PARTY_REGISTER: renderThirdPartyRegister(p.appServer, p.domain),
    TLS_LISTEN: renderTlsListen(p.host, p.tls),
    TLS_MODULE: renderTlsModule(p.tls),
    WSS_PORT_ALLOWED: p.tls === undefined ? '' : ` && $Rp != ${p.tls.port}`,
  };
  return fillPlaceholders(template, values, 'kamailio.cfg');
}

/** Fills the tls.cfg template (certificate and key paths); throws on anything unsafe. */
export function renderKamailioTlsConfig(template: string, p: KamailioTlsConfigParams): string {
  if (!PATH_RE.test(p.certFile)) throw new TypeError('certFile must be a plain absolute path');
  if (!PATH_RE.test(p.keyFile)) throw new TypeError('keyFile must be a plain absolute path');
  return fillPlaceholders(template, { CERT_FILE: p.certFile, KEY_FILE: p.keyFile }, 'tls.cfg');
}

/**
 * Makes a throwaway self-signed P-256 certificate for `host` (and `localhost`), valid two
 * days, in `dir`; returns the file paths and the certificate's PEM.
 */
async function makeSelfSignedCertificate(
  openssl: string,
  dir: string,
  host: string,
): Promise<{ certFile: string; keyFile: string; pem: string }> {
  if (!HOST_RE.test(host)) throw new RangeError('certificates are made for 127.0.0.0/8 addresses only');
  const certFile = join(dir, 'tls-cert.pem');
  const keyFile = join(dir, 'tls-key.pem');
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${host}`, '-addext', `subjectAltName=IP:${host},DNS:localhost`,
    '-keyout', keyFile, '-out', certFile,
  ];
  await new Promise<void>((resolve, reject) => {
    execFile(openssl, args, { cwd: dir, timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl could not make the TLS certificate: ${err.message}\n${String(stderr).slice(-2000)}`));
      else resolve();
    });
  });
  await chmod(keyFile, 0o600);
  return { certFile, keyFile, pem: await readFile(certFile, 'utf8') };
}

async function freeTcpPort(host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function freeUdpPort(host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, host, () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      s.removeAllListeners();
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  // The child leads its own process group (detached), so -pid reaches Kamailio's workers too.
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** Starts one Kamailio; resolves once its WebSocket port (and the TLS one, with `tls`) accepts TCP connections. */
export async function startKamailio(o: KamailioOptions): Promise<RunningKamailio> {
  const host = o.host ?? '127.0.0.1';
  if (!HOST_RE.test(host)) throw new RangeError('Kamailio binds to a 127.0.0.0/8 address only');
  const pickWs = o.wsPort === undefined || o.wsPort === 0;
  const pickUdp = o.udpPort === undefined || o.udpPort === 0;
  const pickWss = o.tls !== undefined && (o.tls.port === undefined || o.tls.port === 0);
  // A picked port can be taken between probing and Kamailio's bind: try again a few times.
  const attempts = pickWs || pickUdp || pickWss ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const wsPort = pickWs ? await freeTcpPort(host) : o.wsPort!;
      const udpPort = pickUdp ? await freeUdpPort(host) : o.udpPort!;
      let wssPort: number | undefined;
      if (o.tls !== undefined) {
        wssPort = pickWss ? await freeTcpPort(host) : o.tls.port!;
        // Two free-port probes in a row can return the same port.
        if (pickWss && wssPort === wsPort) wssPort = await freeTcpPort(host);
      }
      return await startOnce(o, host, wsPort, udpPort, wssPort);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function startOnce(o: KamailioOptions, host: string, wsPort: number, udpPort: number, wssPort: number | undefined): Promise<RunningKamailio> {
  const debug = o.debug === true || process.env['MCPTT_KAMAILIO_DEBUG'] === '1';
  const template = await readFile(fileURLToPath(TEMPLATE_URL), 'utf8');
  const params: KamailioConfigParams = {
    host,
    wsPort,
    udpPort,
    domain: o.domain,
    debug,
    modulePath: o.modulePath ?? DEFAULT_KAMAILIO_MODULES,
    ...(o.appServer ? { appServer: o.appServer } : {}),
  };
  // Check every value before anything is written or generated.
  renderKamailioConfig(template, wssPort === undefined ? params : { ...params, tls: { port: wssPort, configPath: '/tls.cfg' } });
  const dir = await mkdtemp(join(tmpdir(), 'mcptt-kamailio-'));
  let config: string;
  let tlsCertificatePem: string | undefined;
  try {
    if (wssPort === undefined) {
      config = renderKamailioConfig(template, params);
    } else {
      const cert = await makeSelfSignedCertificate(o.opensslBinary ?? 'openssl', dir, host);
      tlsCertificatePem = cert.pem;
      const tlsCfgPath = join(dir, 'tls.cfg');
      const tlsTemplate = await readFile(fileURLToPath(TLS_TEMPLATE_URL), 'utf8');
      await writeFile(tlsCfgPath, renderKamailioTlsConfig(tlsTemplate, cert), { mode: 0o600 });
      config = renderKamailioConfig(template, { ...params, tls: { port: wssPort, configPath: tlsCfgPath } });
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const cfgPath = join(dir, 'kamailio.cfg');
  await writeFile(cfgPath, config, { mode: 0o600 });

  const args = ['-DD', '-E', '-f', cfgPath, '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-w', dir, '-m', '64', '-M', '8'];
  const child = spawn(o.binary ?? DEFAULT_KAMAILIO_BINARY, args, { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
    if (debug) process.stderr.write(chunk.replace(/^/gm, '[kamailio] '));
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });
  // If this process dies without close(), take Kamailio with it.
  const onProcessExit = (): void => {
    if (child.pid !== undefined && !exited(child)) signalGroup(child.pid, 'SIGKILL');
  };
  process.once('exit', onProcessExit);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      process.off('exit', onProcessExit);
      if (child.pid !== undefined && !exited(child)) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        if (!(await waitExit(child, STOP_GRACE_MS))) {
          signalGroup(child.pid, 'SIGKILL');
          await waitExit(child, STOP_GRACE_MS);
        }
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return closed;
  };

  const deadline = Date.now() + (o.startTimeoutMs ?? 10_000);
  try {
    for (;;) {
      if (spawnError) throw new Error(`kamailio could not be started: ${spawnError.message}`);
      if (exited(child)) {
        throw new Error(`kamailio exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${tail.slice(-4000)}`);
      }
      if ((await canConnect(host, wsPort)) && (wssPort === undefined || (await canConnect(host, wssPort)))) break;
      if (Date.now() > deadline) {
        const ports = wssPort === undefined ? `ws port ${wsPort}` : `ws port ${wsPort} / wss port ${wssPort}`;
        throw new Error(`kamailio did not open ${ports} in time:\n${tail.slice(-4000)}`);
      }
      await sleep(50);
    }
    if (child.pid === undefined) throw new Error('kamailio has no pid');
  } catch (e) {
    await close();
    throw e;
  }

  return {
    wsUrl: `ws://${host}:${wsPort}`,
    wssUrl: wssPort === undefined ? undefined : `wss://${host}:${wssPort}`,
    host,
    wsPort,
    wssPort,
    tlsCertificatePem,
    udpPort,
    domain: o.domain,
    pid: child.pid,
    config,
    stderrTail: () => tail,
    close,
  };
}
