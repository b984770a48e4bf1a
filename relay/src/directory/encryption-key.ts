import { readFileSync } from "node:fs";
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8 } from "jose";
import { RESET_JWE_ALG } from "../../../core/contracts/reset-secret.ts";

/**
 * The relay's encryption key for password resets: a P-256 ECDH key, separate from its ES256
 * signing key (one key, one use). The browser encrypts new passwords to its public half (the
 * edge's `encryptionJwk`); relays of one site share it, since any of them may get the request.
 */
export type EncryptionKey = Awaited<ReturnType<typeof importPKCS8>>;

export async function loadEncryptionKey(file: string): Promise<EncryptionKey> {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`passwordReset.encryptionKeyFile: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return await importPKCS8(pem, RESET_JWE_ALG);
  } catch (e) {
    throw new Error(`passwordReset.encryptionKeyFile: ${file} is not a P-256 PKCS#8 key: ${(e as Error).message}`);
  }
}

/** A new key pair: the private key as PKCS#8 PEM and the public JWK for the edge's config. */
export async function newEncryptionKey(): Promise<{ pem: string; publicJwk: { kty: string; crv: string; x: string; y: string } }> {
  const { privateKey, publicKey } = await generateKeyPair(RESET_JWE_ALG, { crv: "P-256", extractable: true });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  if (kty !== "EC" || crv !== "P-256" || !x || !y) throw new Error("unexpected key type from generateKeyPair");
  return { pem: await exportPKCS8(privateKey), publicJwk: { kty, crv, x, y } };
}
