// Tests of the harness's own helpers (run: node lib.test.mjs). The email below is what the
// platform's outbox writes (mail-builder 0.4 output: a subject split into two encoded words,
// quoted-printable bodies, multipart/alternative).
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { newestEmail, parseEml } from "./lib.mjs";

const WELCOME = `From: "Miping" <no-reply@miping.local>
To: <priya@acme.test>
Subject: =?utf-8?B?V2VsY29tZSB0byBNaXBpbmcg4oCUIHlvdXIgYWNjb3VudCDigJxBYw==?=
	=?utf-8?B?bWXigJ0=?=
Message-ID: <01J@miping.local>
Date: Sun, 6 Dec 2026 04:33:11 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; 
	boundary="18ee8ff6cac313f9_1186075b038ea442_d93cb1ba8f4c9ba"


--18ee8ff6cac313f9_1186075b038ea442_d93cb1ba8f4c9ba
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Hello Priya,
Your one-time password is: Zx9!kq-=CE=A9-pass. Your one-time password is: Zx=
9!kq-=CE=A9-pass. Your one-time password is: Zx9!kq-=CE=A9-pass. Your one-ti=
me password is: Zx9!kq-=CE=A9-pass.=20
Log in at http://127.0.0.1:3000/?a=3Db&c=3Dd

--18ee8ff6cac313f9_1186075b038ea442_d93cb1ba8f4c9ba
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<p>Hello <b>Priya</b> =E2=80=94 welcome</p>
--18ee8ff6cac313f9_1186075b038ea442_d93cb1ba8f4c9ba--
`;

test("parseEml decodes headers, encoded words and quoted-printable parts", () => {
  const m = parseEml(WELCOME);
  assert.equal(m.subject, "Welcome to Miping — your account “Acme”");
  assert.equal(m.to, "<priya@acme.test>");
  assert.match(m.text, /^Hello Priya,\nYour one-time password is: Zx9!kq-Ω-pass\. /);
  assert.match(m.text, /Log in at http:\/\/127\.0\.0\.1:3000\/\?a=b&c=d\n/);
  assert.equal(m.html, "<p>Hello <b>Priya</b> — welcome</p>");
});

test("newestEmail takes the newest matching file and skips half-written ones", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "outbox-"));
  await writeFile(path.join(dir, "01J0000000000000000000000A.eml"), WELCOME);
  await writeFile(path.join(dir, "01J0000000000000000000000B.eml"), WELCOME.replace("priya@acme.test", "ravi@acme.test"));
  await writeFile(path.join(dir, ".01J0000000000000000000000C.eml.tmp"), "half");
  assert.equal((await newestEmail({ dir })).file, "01J0000000000000000000000B.eml");
  assert.equal((await newestEmail({ dir, to: "PRIYA@acme.test" })).file, "01J0000000000000000000000A.eml");
  await assert.rejects(newestEmail({ dir, to: "priya@", after: "01J0000000000000000000000A.eml", timeout: 200 }), /timed out .* an email to priya@/);
});
