import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A throw-away PKI for mutual-TLS tests, made with the `openssl` CLI at test time. */
export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second client identity signed by an unrelated CA (the server must refuse it). */
  strangerCert: string;
  strangerKey: string;
}

let cached: Pki | undefined;

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function keyAndCsr(dir: string, name: string, subject: string): void {
  openssl(dir, ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}

function sign(dir: string, name: string, ca: string, extensions: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial",
    "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`]);
}

/** Generates (once per process) a CA, a server certificate for 127.0.0.1/localhost and client certificates. */
export function testPki(): Pki {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-pki-"));
  try {
    selfSignedCa(dir, "ca", "/CN=CSE Test CA");
    selfSignedCa(dir, "other-ca", "/CN=Unrelated CA");
    keyAndCsr(dir, "server", "/CN=localhost");
    sign(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    keyAndCsr(dir, "client", "/CN=node-red-cse-actions");
    sign(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
    keyAndCsr(dir, "stranger", "/CN=stranger");
    sign(dir, "stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
    const read = (file: string) => fs.readFileSync(path.join(dir, file), "utf8");
    cached = {
      ca: read("ca.pem"),
      serverCert: read("server.pem"),
      serverKey: read("server.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
      strangerCert: read("stranger.pem"),
      strangerKey: read("stranger.key"),
    };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
