import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../harness/dev-server.ts";

/**
 * A real OpenLDAP server (Debian's slapd) for the relay's LDAP first-factor tests: its own
 * config and database in a temp dir, listening on a free loopback port.
 */
export interface LdapUser {
  uid: string;
  password: string;
  mobile?: string;
  /** A second name the account can be found by (login filters often accept it). */
  mail?: string;
  displayName?: string;
}

/** A group under ou=groups: groupOfNames (`member` DNs) or posixGroup (`memberUid` names). */
export interface LdapGroup {
  cn: string;
  kind: "groupOfNames" | "posixGroup";
  /** Member uids (as DNs under ou=people for groupOfNames). */
  members: string[];
}

/** The ppolicy overlay with a default policy (its refusals are what a reset must word). */
export interface SlapdPasswordPolicy {
  minLength: number;
  inHistory: number;
}

/** A non-root account that may set users' passwords (the relay's reset service account). */
export interface SlapdServiceAccount {
  cn: string;
  password: string;
}

export interface SlapdOptions {
  ppolicy?: SlapdPasswordPolicy;
  serviceAccount?: SlapdServiceAccount;
  /** Groups under ou=groups (Assisted Login approvers from LDAP). */
  groups?: LdapGroup[];
}

export interface Slapd {
  url: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  /** DN of the service account, when one was asked for. */
  serviceDn: string | null;
  stop: () => Promise<void>;
}

export async function startSlapd(users: LdapUser[], options: SlapdOptions = {}): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-slapd-"));
  mkdirSync(join(dir, "db"));
  const baseDn = "dc=example,dc=com";
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = "admin-secret";
  const conf = join(dir, "slapd.conf");
  const serviceDn = options.serviceAccount ? `cn=${options.serviceAccount.cn},ou=services,${baseDn}` : null;
  const policyDn = `cn=default,ou=policies,${baseDn}`;
  writeFileSync(
    conf,
    [
      "include /etc/ldap/schema/core.schema",
      "include /etc/ldap/schema/cosine.schema",
      "include /etc/ldap/schema/inetorgperson.schema",
      "include /etc/ldap/schema/nis.schema",
      "modulepath /usr/lib/ldap",
      "moduleload back_mdb",
      ...(options.ppolicy ? ["moduleload ppolicy"] : []),
      `pidfile ${join(dir, "slapd.pid")}`,
      "database mdb",
      `suffix "${baseDn}"`,
      `rootdn "${adminDn}"`,
      `rootpw ${adminPassword}`,
      `directory ${join(dir, "db")}`,
      // ppolicy's quality checks see the cleartext only if the server hashes it (Password Modify does).
      ...(options.ppolicy ? ["overlay ppolicy", `ppolicy_default "${policyDn}"`, "ppolicy_hash_cleartext"] : []),
      // The service account may write passwords (write, not manage: manage would bypass the policy).
      `access to attrs=userPassword${serviceDn ? ` by dn.exact="${serviceDn}" write` : ""} by anonymous auth by self write by * none`,
      "access to * by * read",
    ].join("\n"),
  );
  const ldif = [
    `dn: ${baseDn}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${baseDn}\nobjectClass: organizationalUnit\nou: people`,
    ...(options.serviceAccount
      ? [
          `dn: ou=services,${baseDn}\nobjectClass: organizationalUnit\nou: services`,
          `dn: ${serviceDn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ${options.serviceAccount.cn}\nuserPassword: ${options.serviceAccount.password}`,
        ]
      : []),
    ...(options.ppolicy
      ? [
          `dn: ou=policies,${baseDn}\nobjectClass: organizationalUnit\nou: policies`,
          `dn: ${policyDn}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword` +
            `\npwdMinLength: ${options.ppolicy.minLength}\npwdCheckQuality: 2\npwdInHistory: ${options.ppolicy.inHistory}`,
        ]
      : []),
    ...users.map(
      (u) =>
        `dn: uid=${u.uid},ou=people,${baseDn}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.uid}\nsn: ${u.uid}\nuserPassword: ${u.password}` +
        (u.mobile ? `\nmobile: ${u.mobile}` : "") +
        (u.mail ? `\nmail: ${u.mail}` : "") +
        (u.displayName ? `\ndisplayName: ${u.displayName}` : ""),
    ),
    ...(options.groups?.length ? [`dn: ou=groups,${baseDn}\nobjectClass: organizationalUnit\nou: groups`] : []),
    ...(options.groups ?? []).map((g, i) =>
      g.kind === "groupOfNames"
        ? `dn: cn=${g.cn},ou=groups,${baseDn}\nobjectClass: groupOfNames\ncn: ${g.cn}` +
          g.members.map((m) => `\nmember: uid=${m},ou=people,${baseDn}`).join("")
        : `dn: cn=${g.cn},ou=groups,${baseDn}\nobjectClass: posixGroup\ncn: ${g.cn}\ngidNumber: ${5000 + i}` +
          g.members.map((m) => `\nmemberUid: ${m}`).join(""),
    ),
  ].join("\n\n");
  writeFileSync(join(dir, "data.ldif"), `${ldif}\n`);
  const add = spawnSync("/usr/sbin/slapadd", ["-f", conf, "-l", join(dir, "data.ldif")], { encoding: "utf8" });
  if (add.status !== 0) throw new Error(`slapadd failed: ${add.stderr}`);

  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  let out = "";
  const child: ChildProcess = spawn("/usr/sbin/slapd", ["-d", "0", "-f", conf, "-h", `${url}/`], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const until = Date.now() + 15_000;
  for (;;) {
    const probe = spawnSync("ldapsearch", ["-x", "-H", url, "-b", baseDn, "-s", "base", "(objectClass=*)"], { encoding: "utf8" });
    if (probe.status === 0) break;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`slapd did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    baseDn,
    adminDn,
    adminPassword,
    serviceDn,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
