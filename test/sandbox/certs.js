// A throwaway PKI for the sandbox, made with the openssl CLI (EC P-256: fast to generate).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, run } from "./procs.js";
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
function openssl() {
    return requireBinary('openssl', 'install it with: apt-get install -y openssl');
}
export async function createCA(dir, cn = 'tfe-operator sandbox CA') {
    mkdirSync(dir, { recursive: true });
    const certFile = join(dir, 'ca.crt');
    const keyFile = join(dir, 'ca.key');
    await run(openssl(), [
        'req', '-x509', ...EC, '-keyout', keyFile, '-out', certFile, '-days', '3650', '-subj', `/CN=${cn}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}
/** A serving (and client) certificate signed by `ca` for the given names and IPs. */
export async function issueCert(ca, dir, name, sans) {
    mkdirSync(dir, { recursive: true });
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    const san = [...(sans.dns ?? []).map((d) => `DNS:${d}`), ...(sans.ips ?? []).map((i) => `IP:${i}`)].join(',');
    await run(openssl(), [
        'req', '-x509', ...EC, '-keyout', keyFile, '-out', certFile, '-days', '825', '-subj', `/CN=${name}`,
        '-CA', ca.certFile, '-CAkey', ca.keyFile,
        '-addext', 'basicConstraints=critical,CA:FALSE',
        '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
        '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
        ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    ]);
    return { certFile, keyFile };
}
/** A bare key pair (PEM), e.g. the service-account token signing key. */
export async function createKeyPair(dir, name) {
    mkdirSync(dir, { recursive: true });
    const privateKeyFile = join(dir, `${name}.key`);
    const publicKeyFile = join(dir, `${name}.pub`);
    await run(openssl(), ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', privateKeyFile]);
    await run(openssl(), ['pkey', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile]);
    return { privateKeyFile, publicKeyFile };
}
//# sourceMappingURL=certs.js.map