#!/usr/bin/env python3
"""Least privilege and deployability of template.yaml, checked on what CloudFormation would get.

The SAM template is transformed with the same translator `sam deploy` uses (aws-sam-translator,
installed with cfn-lint in the test venv), so the checks see the generated IAM roles, managed
policies and permissions, not just what the template spells out.

Run by infra/test.sh:  .venv/bin/python infra/template_test.py
"""

import copy
import json
import logging
import os
import re
import sys
import tomllib
import unittest
from pathlib import Path

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent
# The translator logs its own usage metrics as warnings; they are noise here.
logging.getLogger("samtranslator").setLevel(logging.ERROR)

# The only AWS-managed policies a function role may carry: logs (SAM's basic execution role)
# and X-Ray segments (Tracing: Active). Neither service supports resource-level permissions.
ALLOWED_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}

# Who may use the envelope key, and why. Decrypt opens a sealed secret, GenerateDataKey seals one.
KMS_DECRYPT = {
    "send-worker": "opens the WhatsApp token to call Meta",
    "media-worker": "opens the WhatsApp token to fetch customers' files from Graph",
    "templates-api": "opens the WhatsApp token to manage templates",
    "whatsapp-api": "opens the token and PIN on resumed connect steps",
    "mail-worker": "opens the one-time password of a welcome email",
    "callback-worker": "opens the callback secret to sign deliveries",
    # Accepting a message or a campaign checks the connection by opening its token
    # (whatsapp::connection::business_token, docs/deploy.md).
    "messaging-api": "connection check in messages::accept",
    "inbox-api": "connection check in messages::accept",
    "external-api": "connection check in messages::accept",
    "campaigns-api": "connection check in campaigns::create",
    "console-web": "the console's pages run the same use cases (template sync, connect, sends)",
}
KMS_GENERATE = {
    "whatsapp-api": "seals the token from the code exchange and the PIN",
    "admin-api": "seals the one-time password in the welcome email",
    "tenant-api": "seals the callback secret",
    "console-web": "Embedded Signup, welcome emails and the callback secret from the console",
    "console-admin": "seals the one-time password in the welcome email (a tenant provisioned from the console)",
}
SES_SENDERS = {"mail-worker"}

# Who may touch the media bucket, with which actions, on which keys (under `${MediaBucket.Arn}/`;
# "" is the bucket itself). Each function gets only its own prefixes (SPEC: tenants/{id}/{inbound|outbound}/).
MEDIA_ACCESS = {
    # /media uploads (outbound; a refused direct upload is deleted) and downloads (either direction).
    "messaging-api": {
        "s3:PutObject": {"tenants/*/outbound/*"},
        "s3:PutObjectTagging": {"tenants/*/outbound/*"},
        "s3:DeleteObject": {"tenants/*/outbound/*"},
        "s3:GetObject": {"tenants/*"},
        "s3:ListBucket": {""},
    },
    # Files sent to customers: read (outbound only) to upload them to Meta.
    "send-worker": {
        "s3:GetObject": {"tenants/*/outbound/*"},
    },
    # Customers' files fetched from Meta: written under the inbound prefixes, nothing else.
    "media-worker": {
        "s3:PutObject": {"tenants/*/inbound/*"},
        "s3:PutObjectTagging": {"tenants/*/inbound/*"},
    },
    # The brand logo: uploaded (outbound) and served by the console itself; a campaign's
    # recipients export written (exports) and presigned (GetObject on tenants/* covers it).
    "console-web": {
        "s3:PutObject": {"tenants/*/outbound/*", "tenants/*/exports/*"},
        "s3:PutObjectTagging": {"tenants/*/outbound/*", "tenants/*/exports/*"},
        "s3:AbortMultipartUpload": {"tenants/*/exports/*"},
        "s3:GetObject": {"tenants/*"},
    },
    # GET /campaigns/{id}/recipients.csv: written part by part, answered with a presigned GET.
    "campaigns-api": {
        "s3:PutObject": {"tenants/*/exports/*"},
        "s3:PutObjectTagging": {"tenants/*/exports/*"},
        "s3:AbortMultipartUpload": {"tenants/*/exports/*"},
        "s3:GetObject": {"tenants/*/exports/*"},
    },
}

# Functions planned in the template whose crates are still being written (they land with their
# crates); any other function in the template must have a crate under functions/.
PENDING_CRATES: set[str] = set()

# Resource properties that would hard-code a name (two stacks in one account must not collide).
NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Events::Rule": "Name",
}


class _NoManagedPolicies:
    def load(self):
        return {}


def load_sam(path=ROOT / "template.yaml"):
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def to_cloudformation(sam):
    sam = copy.deepcopy(sam)
    for res in sam["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://bucket/code.zip"  # what `sam package` does
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(sam, {}, _NoManagedPolicies())


def ref(value):
    """A short, comparable form of a resource reference: 'Table.Arn', 'JwtSecret', 'sub:...'."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return ".".join(att) if isinstance(att, list) else att
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return "sub:" + (sub if isinstance(sub, str) else sub[0])
    return value


def as_list(value):
    return value if isinstance(value, list) else [value]


class Stack:
    """The transformed template, indexed by function (binary name)."""

    def __init__(self, sam):
        self.sam = sam
        self.cfn = to_cloudformation(sam)
        self.resources = self.cfn["Resources"]
        self.functions = {}  # binary -> logical id (SAM)
        for lid, res in sam["Resources"].items():
            if res["Type"] == "AWS::Serverless::Function":
                self.functions[res["Metadata"]["BuildProperties"]["Binary"]] = lid
        self.globals = sam.get("Globals", {}).get("Function", {})

    def sam_props(self, binary):
        return self.sam["Resources"][self.functions[binary]]["Properties"]

    def prop(self, binary, name, default=None):
        return self.sam_props(binary).get(name, self.globals.get(name, default))

    def statements(self, binary):
        role_id = ref(self.resources[self.functions[binary]]["Properties"]["Role"]).split(".")[0]
        role = self.resources[role_id]["Properties"]
        out = []
        for policy in role.get("Policies", []):
            out += as_list(policy["PolicyDocument"]["Statement"])
        return role, out

    def env(self, binary):
        env = dict(self.globals.get("Environment", {}).get("Variables", {}))
        env.update(self.sam_props(binary).get("Environment", {}).get("Variables", {}))
        return env

    def mappings(self, binary):
        """Queues (logical ids) this function consumes through event source mappings."""
        lid = self.functions[binary]
        return [
            res["Properties"]
            for res in self.resources.values()
            if res["Type"] == "AWS::Lambda::EventSourceMapping" and ref(res["Properties"]["FunctionName"]) == lid
        ]


def violations(sam):
    """Every least-privilege and deployability problem, as readable strings (empty = good)."""
    stack = Stack(sam)
    problems = []
    queue_ids = {lid for lid, r in sam["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    secret_ids = {lid for lid, r in sam["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"}

    for binary, lid in sorted(stack.functions.items()):
        p = f"{binary}:"
        role, statements = stack.statements(binary)
        env = stack.env(binary)
        consumed = {ref(m["EventSourceArn"]).split(".")[0] for m in stack.mappings(binary)}

        for arn in role.get("ManagedPolicyArns", []):
            if ref(arn) not in ALLOWED_MANAGED:
                problems.append(f"{p} managed policy {ref(arn)} (grants beyond this function's resources)")

        granted = {}  # action -> set of resources
        for s in statements:
            if s.get("Effect") != "Allow" or "NotAction" in s or "NotResource" in s:
                problems.append(f"{p} statement {s.get('Sid')} must be a plain Allow")
            actions, resources = as_list(s.get("Action", [])), [ref(r) for r in as_list(s.get("Resource", []))]
            for a in actions:
                if "*" in a:
                    problems.append(f"{p} wildcard action {a}")
                granted.setdefault(a, set()).update(map(str, resources))
            for r in resources:
                if r == "*" or (isinstance(r, str) and r.startswith("arn:")):
                    problems.append(f"{p} {s.get('Sid')} names resource {r!r} instead of a stack resource")
            services = {a.split(":")[0] for a in actions}
            if "dynamodb" in services:
                for r in resources:
                    if r != "Table.Arn" and not re.fullmatch(r"sub:\$\{Table\.Arn\}/index/(\*|GSI\d)", str(r)):
                        problems.append(f"{p} DynamoDB access outside the table and its indexes: {r}")
            if "kms" in services:
                if resources != ["TokenKey.Arn"]:
                    problems.append(f"{p} KMS outside the token key: {resources}")
                if "kms:EncryptionContext:tenant_id" not in json.dumps(s.get("Condition", {})):
                    problems.append(f"{p} KMS without the tenant_id encryption context condition")
            if "ses" in services and "ses:FromAddress" not in json.dumps(s.get("Condition", {})):
                problems.append(f"{p} SES without a FromAddress condition")

        for action, table in (("kms:Decrypt", KMS_DECRYPT), ("kms:GenerateDataKey", KMS_GENERATE)):
            if action in granted and binary not in table:
                problems.append(f"{p} {action} is not expected (only {sorted(table)})")
        allowed_kms = {"kms:Decrypt", "kms:GenerateDataKey"}
        for a in granted:
            if a.startswith("kms:") and a not in allowed_kms:
                problems.append(f"{p} unexpected KMS action {a}")
            if a.startswith("ses:") and (binary not in SES_SENDERS or a != "ses:SendEmail"):
                problems.append(f"{p} unexpected SES action {a}")
            if a.startswith(("iam:", "sts:", "lambda:")):
                problems.append(f"{p} unexpected action {a}")

        # Media: exactly the actions and prefixes MEDIA_ACCESS gives this function, in the stack's bucket.
        def media_arn(prefix):
            return "MediaBucket.Arn" if prefix == "" else "sub:${MediaBucket.Arn}/" + prefix

        s3_granted = {a: rs for a, rs in granted.items() if a.startswith("s3:")}
        s3_expected = {a: {media_arn(x) for x in prefixes} for a, prefixes in MEDIA_ACCESS.get(binary, {}).items()}
        if s3_granted != s3_expected:
            problems.append(f"{p} S3 access {sorted((a, sorted(r)) for a, r in s3_granted.items())} "
                            f"is not {sorted((a, sorted(r)) for a, r in s3_expected.items())}")
        if s3_granted and ref(env.get("MEDIA_BUCKET")) != "MediaBucket":
            problems.append(f"{p} S3 granted but MEDIA_BUCKET is not the media bucket")
        if "MEDIA_BUCKET" in env and not s3_granted:
            problems.append(f"{p} has MEDIA_BUCKET but no S3 access")
        if any(a.startswith("kms:") for a in granted) and "KMS_KEY_ID" not in env:
            problems.append(f"{p} KMS granted but KMS_KEY_ID not set")

        # Queues: consume only what the mappings poll; send only where the URL is configured.
        for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
            polled = {r.split(".")[0] for r in granted.get(a, set())}
            if polled != consumed:
                problems.append(f"{p} {a} on {sorted(polled)} but consumes {sorted(consumed)}")
        for q in consumed:
            for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                if f"{q}.Arn" not in granted.get(a, set()):
                    problems.append(f"{p} consumes {q} without {a} on it")
        send_to = {r.split(".")[0] for r in granted.get("sqs:SendMessage", set())}
        url_env = {ref(v) for k, v in env.items() if k.endswith("_QUEUE_URL")}
        for q in send_to - url_env:
            problems.append(f"{p} may send to {q} but has no <NAME>_QUEUE_URL for it")
        for q in url_env - send_to - consumed:
            problems.append(f"{p} has the URL of {q} but neither sends to nor consumes it")
        for k, v in env.items():
            if k.endswith("_QUEUE_URL"):
                expected = "".join(w.capitalize() for w in k[: -len("_QUEUE_URL")].split("_")) + "Queue"
                if ref(v) != expected or expected not in queue_ids:
                    problems.append(f"{p} {k} points at {ref(v)}, expected {expected}")

        # Secrets: read exactly the ones whose ARN it is given.
        readable = {r for r in granted.get("secretsmanager:GetSecretValue", set())}
        given = {ref(v) for k, v in env.items() if k.endswith("_ARN") and ref(v) in secret_ids}
        if readable != given:
            problems.append(f"{p} reads secrets {sorted(readable)} but is given {sorted(given)}")

        # Runtime shape.
        if stack.prop(binary, "Architectures") != ["arm64"]:
            problems.append(f"{p} not arm64")
        if stack.prop(binary, "Runtime") != "provided.al2023":
            problems.append(f"{p} not provided.al2023")
        if stack.prop(binary, "Tracing") != "Active":
            problems.append(f"{p} X-Ray tracing not active")
        if stack.globals.get("LoggingConfig", {}).get("LogFormat") != "JSON":
            problems.append(f"{p} logs not JSON")
        sam_fn = sam["Resources"][lid]
        code_uri = sam_fn["Properties"].get("CodeUri")
        if code_uri not in (".", f"functions/{binary}") or sam_fn["Metadata"].get("BuildMethod") != "rust-cargolambda":
            problems.append(f"{p} not built by cargo-lambda from the workspace or its own folder (rust-cargolambda)")
        # cargo reads .cargo/config.toml from the folder it runs in: a function's own config only
        # applies when SAM builds it from that folder, and one that aborts on panic must not
        # consume a queue (a panic would fail its whole batch instead of one message).
        own_config = ROOT / "functions" / binary / ".cargo" / "config.toml"
        if own_config.exists() and code_uri != f"functions/{binary}":
            problems.append(f"{p} has its own cargo config, which SAM ignores from CodeUri {code_uri}")
        aborts = own_config.exists() and tomllib.loads(own_config.read_text()).get("profile", {}).get("release", {}).get("panic") == "abort"
        if aborts and list(stack.mappings(binary)):
            problems.append(f"{p} aborts on panic but consumes a queue")
        timeout = stack.prop(binary, "Timeout", 3)
        for m in stack.mappings(binary):
            q = ref(m["EventSourceArn"]).split(".")[0]
            if "ReportBatchItemFailures" not in m.get("FunctionResponseTypes", []):
                problems.append(f"{p} mapping of {q} without ReportBatchItemFailures")
            if not m.get("ScalingConfig", {}).get("MaximumConcurrency"):
                problems.append(f"{p} mapping of {q} without a maximum concurrency")
            vis = sam["Resources"][q]["Properties"].get("VisibilityTimeout", 30)
            if vis < 6 * timeout:
                problems.append(f"{p} {q} visibility {vis} s < 6 x timeout {timeout} s")
        for metric in ("Errors", "Throttles"):
            if not any(
                r["Type"] == "AWS::CloudWatch::Alarm"
                and r["Properties"].get("MetricName") == metric
                and any(ref(d["Value"]) == lid for d in r["Properties"].get("Dimensions", []))
                for r in sam["Resources"].values()
            ):
                problems.append(f"{p} no {metric} alarm")

    # Every queue: a DLQ and an alarm on its depth; DLQs themselves are not redriven.
    for q in sorted(queue_ids):
        props = sam["Resources"][q]["Properties"]
        if q.endswith("DeadLetterQueue"):
            if not any(
                r["Type"] == "AWS::CloudWatch::Alarm"
                and any(ref(d["Value"]) == f"{q}.QueueName" for d in r["Properties"].get("Dimensions", []))
                for r in sam["Resources"].values()
            ):
                problems.append(f"{q}: no depth alarm")
        elif "RedrivePolicy" not in props:
            problems.append(f"{q}: no dead-letter queue")

    # Buckets: private, encrypted, TLS only, expiring.
    for lid, r in sam["Resources"].items():
        if r["Type"] != "AWS::S3::Bucket":
            continue
        props = r["Properties"]
        block = props.get("PublicAccessBlockConfiguration", {})
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if block.get(flag) is not True:
                problems.append(f"{lid}: {flag} is not true")
        sse = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if not any(rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in sse):
            problems.append(f"{lid}: no default encryption")
        ownership = props.get("OwnershipControls", {}).get("Rules", [])
        if [o.get("ObjectOwnership") for o in ownership] != ["BucketOwnerEnforced"]:
            problems.append(f"{lid}: ACLs not disabled (BucketOwnerEnforced)")
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if not any(rule.get("ExpirationInDays") and rule.get("Status") == "Enabled" for rule in rules):
            problems.append(f"{lid}: no expiring lifecycle rule (retention)")
        tls_only = any(
            p2["Type"] == "AWS::S3::BucketPolicy"
            and ref(p2["Properties"]["Bucket"]) == lid
            and any(
                st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition", {}))
                for st in as_list(p2["Properties"]["PolicyDocument"]["Statement"])
            )
            for p2 in sam["Resources"].values()
        )
        if not tls_only:
            problems.append(f"{lid}: no policy denying requests without TLS")

    # No hard-coded names anywhere.
    for lid, r in stack.resources.items():
        name = NAME_PROPERTIES.get(r["Type"])
        value = r.get("Properties", {}).get(name) if name else None
        if value is not None and "AWS::StackName" not in json.dumps(value):
            problems.append(f"{lid}: {name} {value!r} is not derived from the stack name")
    return problems


def queue_names_in_code():
    text = (ROOT / "shared/src/queues.rs").read_text()
    return re.findall(r'QueueName\("([a-z_]+)"\)', text)


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sam = load_sam()

    def test_least_privilege_and_shape(self):
        self.assertEqual(violations(self.sam), [])

    def test_every_function_crate_is_deployed_and_every_deployed_function_has_a_crate(self):
        crates = {p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml")}
        deployed = set(Stack(self.sam).functions)
        self.assertEqual(crates - deployed, set(), "crates under functions/ missing from template.yaml")
        self.assertEqual(deployed - crates - PENDING_CRATES, set(), "template functions without a crate")

    def test_cargo_lambda_watch_routes_every_api_path_to_the_same_function(self):
        """`cargo lambda watch --features local` (README → Lambda development) routes by the
        workspace metadata in Cargo.toml; a path the template deploys but the router lacks is a
        404 on a laptop only, which nothing else would notice."""
        with open(ROOT / "Cargo.toml", "rb") as f:
            router = tomllib.load(f)["workspace"]["metadata"]["lambda"]["watch"]["router"]
        missing = []
        for binary, lid in Stack(self.sam).functions.items():
            events = self.sam["Resources"][lid]["Properties"].get("Events", {})
            for event in events.values():
                if event["Type"] != "HttpApi":
                    continue
                path = event["Properties"]["Path"].replace("{proxy+}", "{*rest}")
                if router.get(path) != binary:
                    missing.append(f"{path} -> {binary} (watch: {router.get(path)})")
        self.assertEqual(missing, [], "add these to [workspace.metadata.lambda.watch.router] in Cargo.toml")

    def test_console_admin_serves_exactly_the_platform_pages(self):
        """The console is two Lambdas routed by path: the areas `platform_routes()` nests
        (shared/console/src/pages/mod.rs) must be console-admin's paths, and nothing else, or a
        page answers console-web's 404 on AWS while working locally (where both are merged)."""
        text = (ROOT / "shared/console/src/pages/mod.rs").read_text()
        body = text[text.index("pub fn platform_routes()"):]
        body = body[: body.index("\n}\n")]
        areas = set(re.findall(r'\.nest\("(/app/[a-z-]+)"', body))
        self.assertTrue(areas, "no nest() found in platform_routes()")
        events = self.sam["Resources"]["ConsoleAdminFunction"]["Properties"]["Events"].values()
        paths = {e["Properties"]["Path"] for e in events}
        self.assertEqual(paths, areas | {a + "/{proxy+}" for a in areas})

    def test_every_queue_of_the_code_exists_with_a_consumer(self):
        stack = Stack(self.sam)
        consumed = {ref(m["EventSourceArn"]).split(".")[0] for b in stack.functions for m in stack.mappings(b)}
        for name in queue_names_in_code():
            lid = "".join(w.capitalize() for w in name.split("_")) + "Queue"
            self.assertIn(lid, self.sam["Resources"], f"queue {name} has no {lid}")
            self.assertIn(lid, consumed, f"queue {name} has no consumer")

    def test_every_function_has_a_sample_event_of_its_trigger_type(self):
        """events/<binary>.json is what `cargo lambda invoke --data-file` and the cold-start bench
        send: API Gateway v2 for API routes, a function URL event for the webhook receiver, SQS
        for consumers, an EventBridge scheduled event for the scheduler."""
        stack = Stack(self.sam)
        for binary in stack.functions:
            path = ROOT / "events" / f"{binary}.json"
            if binary in PENDING_CRATES and not (ROOT / "functions" / binary).exists():
                continue
            self.assertTrue(path.exists(), f"events/{binary}.json")
            event = json.loads(path.read_text())
            props = stack.sam_props(binary)
            events = props.get("Events", {}).values()
            routes = {f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"}
            if stack.mappings(binary):
                records = event.get("Records", [])
                self.assertTrue(records and all(r.get("eventSource") == "aws:sqs" for r in records), f"{path.name}: SQS event")
            elif any(e["Type"] == "Schedule" for e in events):
                self.assertEqual(event.get("detail-type"), "Scheduled Event", f"{path.name}: EventBridge scheduled event")
                self.assertEqual(event.get("source"), "aws.events", path.name)
            elif "FunctionUrlConfig" in props:
                self.assertEqual(event.get("version"), "2.0", path.name)
                self.assertEqual(event.get("routeKey"), "$default", f"{path.name}: function URL event")
                self.assertIn(".lambda-url.", event["requestContext"]["domainName"], path.name)
            else:
                self.assertEqual(event.get("version"), "2.0", f"{path.name}: API Gateway HTTP API payload v2")
                key = event.get("routeKey", "")
                method, _, route = key.partition(" ")
                self.assertTrue(key in routes or f"ANY {route}" in routes, f"{path.name}: routeKey {key!r} is not one of {sorted(routes)}")

    def test_outputs_and_schedule(self):
        outputs = self.sam["Outputs"]
        self.assertIn("ApiUrl", outputs)
        self.assertIn("WebhookUrl", outputs)
        for binary, rate in (("scheduler", "rate(1 minute)"), ("reconciler", "rate(5 minutes)")):
            props = self.sam["Resources"][Stack(self.sam).functions[binary]]["Properties"]
            schedules = [e for e in props["Events"].values() if e["Type"] == "Schedule"]
            self.assertEqual([e["Properties"]["Schedule"] for e in schedules], [rate], binary)

    def test_balance_writers_cover_every_process_that_writes_a_balance(self):
        """billing::gate lets each process write a tenant's balance item at most 500 /
        MIPING_BALANCE_WRITERS times a second: the figure must count every environment that can
        write one at once, so the item stays under SPEC's 500 writes/s by construction. Queue
        consumers: the send worker (debits, owed refunds) and the webhook processor (refunds of
        failures), at their mappings' maximum concurrency; then the reconciler (owed refunds,
        every 5 minutes) and a reserve for the API's human-driven writes (credits, corrections,
        a cancelled campaign's refunds)."""
        stack = Stack(self.sam)
        writers = int(stack.env("send-worker")["MIPING_BALANCE_WRITERS"])
        for binary in stack.functions:
            self.assertEqual(int(stack.env(binary)["MIPING_BALANCE_WRITERS"]), writers, binary)
        consumers = sum(
            m["ScalingConfig"]["MaximumConcurrency"] for b in ("send-worker", "webhook-processor") for m in stack.mappings(b)
        )
        reconciler, api_reserve = 1, 4
        self.assertGreaterEqual(writers, consumers + reconciler + api_reserve)
        per_process = 500 // writers  # writes a second each (billing::gate::interval_for)
        self.assertGreaterEqual(per_process, 1)
        self.assertLessEqual(writers * per_process, 500)

    def test_the_reconciler_reads_only_its_indexes_and_requeues_only_its_lanes(self):
        """domain::reconciler finds stranded work through sparse GSI2 entries (HANDOFF#, REFUND#,
        HELD#), never by scanning or querying the table; it re-queues one-off sends and fan-out
        work, and deletes nothing."""
        stack = Stack(self.sam)
        _, statements = stack.statements("reconciler")
        granted = {}
        for st in statements:
            for a in as_list(st["Action"]):
                granted.setdefault(a, set()).update(str(ref(r)) for r in as_list(st["Resource"]))
        self.assertEqual(granted.get("dynamodb:Query"), {"sub:${Table.Arn}/index/GSI2"})
        self.assertNotIn("dynamodb:Scan", granted)
        self.assertNotIn("dynamodb:DeleteItem", granted)
        self.assertEqual(granted.get("sqs:SendMessage"), {"SendQueue.Arn", "FanoutQueue.Arn"})
        self.assertFalse(any(a.startswith(("kms:", "secretsmanager:")) for a in granted), granted)

    # The checker must be able to fail: each mutation below is a real least-privilege mistake.
    def mutated(self, binary, edit):
        sam = copy.deepcopy(self.sam)
        lid = Stack(sam).functions[binary]
        edit(sam["Resources"][lid]["Properties"]["Policies"][0]["Statement"], sam)
        return violations(sam)

    def test_checker_catches_wildcard_actions(self):
        found = self.mutated("auth-api", lambda st, _: st.append({"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}))
        self.assertTrue(any("wildcard action dynamodb:*" in v for v in found), found)

    def test_checker_catches_unscoped_table_access(self):
        found = self.mutated("contacts-api", lambda st, _: st.append({"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"}))
        self.assertTrue(any("outside the table" in v for v in found), found)

    def test_checker_catches_decrypt_where_no_token_is_opened(self):
        found = self.mutated("contacts-api", lambda st, _: st.append({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["TokenKey", "Arn"]}, "Condition": {"Null": {"kms:EncryptionContext:tenant_id": "false"}}}))
        self.assertTrue(any("kms:Decrypt is not expected" in v for v in found), found)

    def test_checker_catches_consuming_another_queue(self):
        def edit(st, _):
            st.append({"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": {"Fn::GetAtt": ["SendQueue", "Arn"]}})
        found = self.mutated("mail-worker", edit)
        self.assertTrue(any("sqs:ReceiveMessage on" in v for v in found), found)

    def test_checker_catches_media_access_beyond_a_functions_prefixes(self):
        bucket_wide = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": {"Fn::Sub": "${MediaBucket.Arn}/*"}}
        found = self.mutated("messaging-api", lambda st, _: st.append(bucket_wide))
        self.assertTrue(any("messaging-api: S3 access" in v for v in found), found)
        found = self.mutated("contacts-api", lambda st, _: st.append({**bucket_wide, "Action": "s3:GetObject"}))
        self.assertTrue(any("contacts-api: S3 access" in v for v in found), found)

    def test_checker_catches_a_public_or_unencrypted_bucket(self):
        sam = copy.deepcopy(self.sam)
        props = sam["Resources"]["MediaBucket"]["Properties"]
        props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False
        del props["BucketEncryption"]
        del props["LifecycleConfiguration"]
        found = violations(sam)
        for expected in ("RestrictPublicBuckets is not true", "no default encryption", "no expiring lifecycle rule"):
            self.assertTrue(any(expected in v for v in found), (expected, found))

    def test_checker_catches_a_short_visibility_timeout_and_hard_coded_names(self):
        sam = copy.deepcopy(self.sam)
        sam["Resources"]["MailQueue"]["Properties"]["VisibilityTimeout"] = 60
        sam["Resources"]["Table"]["Properties"]["TableName"] = "miping"
        found = violations(sam)
        self.assertTrue(any("MailQueue visibility 60" in v for v in found), found)
        self.assertTrue(any("TableName 'miping'" in v for v in found), found)


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
