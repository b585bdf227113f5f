#!/usr/bin/env python3
"""moto server for the tfe-operator sandbox.

    python3 test/sandbox/moto/server.py <port>

Serves moto (5.2.x) on 127.0.0.1:<port> with runtime patches for the gaps the
operator hits, plus two observability endpoints for tests:

    GET    /_sandbox/calls        every AWS API call (seq, ts, service, action, userAgent, status)
    DELETE /_sandbox/calls
    GET    /_sandbox/asg-history  every change of an ASG's DesiredCapacity, in order
    DELETE /_sandbox/asg-history
           (both GETs take ?since=<seq>: only entries after that one)
    GET    /_sandbox/config       {"redisCreateDelayMs": n, "terminateDelayMs": n, "elbCheckMs": n}
    POST   /_sandbox/config       same body (any subset); changes them at run time
    POST   /_sandbox/target-health  {"<instanceId>": {"state": "initial|healthy|unhealthy",
                                  "ports": [443], "reason": "...", "code": 503} | null}: what the
                                  TFE simulator's nodes report; DescribeTargetHealth follows it
    GET    /_sandbox/target-health
    GET    /_sandbox/asg-replacements  instances an ASG replaced for failed health checks (?since=)
    DELETE /_sandbox/asg-replacements

Both logs are cleared by POST /moto-api/reset.
Env: MOTO_SANDBOX_REDIS_CREATE_DELAY_MS (default 0): how long a new replication
group reads "creating" before "available"; MOTO_SANDBOX_TERMINATE_DELAY_MS (default 0 =
moto's instant removal): how long a scaled-in ASG instance stays Terminating (EC2
shutting-down) before it is terminated and leaves the group; when > 0, termination lifecycle
hooks hold it in Terminating:Wait until CompleteLifecycleAction or the HeartbeatTimeout.

Patches in modules beside this file, imported below after this file's own:
  patch_elasticache.py      tagging a replication group that is not "available" ->
                            InvalidReplicationGroupState; AuthToken rules (16-128 printable
                            ASCII, specials only !&#$^<>-) on Create/ModifyReplicationGroup
  patch_ec2_userdata.py     16 KB raw user data limit on CreateLaunchTemplate(Version), RunInstances
  patch_asg_terminating.py  Terminating / Terminating:Wait / Terminating:Proceed (terminateDelayMs),
                            CompleteLifecycleAction, RecordLifecycleActionHeartbeat
  patch_elb_health.py       DescribeTargetHealth from /_sandbox/target-health; ASG instances
                            (de)registered with target groups as they come and go; Attach/Detach/
                            DescribeTrafficSources; HealthCheckType ELB replaces unhealthy instances
                            (checked every elbCheckMs, env MOTO_SANDBOX_ELB_CHECK_MS, default 500);
                            HealthCheckGracePeriod defaults to 0 as in AWS
  patch_iam_sessions.py     STS session credentials (ASIA...) held to the assumed role's IAM policies
                            with AWS's AccessDenied texts; every other caller stays unrestricted
  patch_iam_simulate.py     iam:SimulatePrincipalPolicy (moto has none) for roles and users, with the
                            same policy evaluation as patch_iam_sessions
  patch_ssm_commands.py     Run Command carried out by the TFE simulator: SendCommand refuses instances
                            whose SSM agent is offline (InvalidInstanceId); invocations Pending ->
                            InProgress -> Success/Failed/TimedOut with their output; command Status and
                            counts follow them; ListCommandInvocations (moto has none). Endpoints:
                            POST|GET /_sandbox/ssm/agents {"<instanceId>": true|false} (never named =
                            offline), GET /_sandbox/ssm/pending (Pending invocations of online agents,
                            now InProgress), POST /_sandbox/ssm/result {commandId, instanceId, status,
                            responseCode, stdout, stderr}

Every patch below names the moto function it changes; each was checked in moto
5.2.1's source (and moto 5.2.5, the newest on PyPI when written: it adds
ModifyReplicationGroup but fixes none of the others).
"""

from __future__ import annotations

import copy
import io
import json
import os
import random
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from wsgi_json import json_response
from urllib.parse import parse_qs

import moto
from moto.autoscaling import models as asg_models
from moto.core import responses as core_responses
from moto.core.responses import ActionResult
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import parse_user_data
from moto.elasticache import models as ec_models
from moto.elasticache.exceptions import (
    InvalidParameterValueException,
    ReplicationGroupNotFound,
)
from moto.elasticache.responses import ElastiCacheResponse
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.models import MotoAPIBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_lock = threading.Lock()
_calls: list[dict[str, Any]] = []
_asg_history: list[dict[str, Any]] = []
_seq = {"calls": 0, "asg": 0}  # never reset: a poller's ?since= stays valid across resets
_ctx = threading.local()  # per request thread: .action (API action), .asg (group launching)
_config = {
    "redisCreateDelayMs": int(os.environ.get("MOTO_SANDBOX_REDIS_CREATE_DELAY_MS", "0") or 0),
    "terminateDelayMs": int(os.environ.get("MOTO_SANDBOX_TERMINATE_DELAY_MS", "0") or 0),
}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- Deterministic IDs ------------------------------------------------------------
# POST /moto-api/seed seeds moto's `mock_random`, but (a) every response draws a
# 52-char request id from it (moto.core.responses._enrich_response ->
# gen_amzn_requestid_long), so any concurrent read (a poller) shifts the IDs of
# everything created after it; (b) ElastiCache's ReplicationGroup builds its
# endpoint domain with the stdlib `random` module, which the seed never touches.
# Request ids now come from a private RNG, and ElastiCache uses mock_random.
_request_id_rng = random.Random()


def _gen_request_id(headerdict: dict[str, Any] | None = None) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    req_id = "".join(_request_id_rng.choice(alphabet) for _ in range(52))
    if isinstance(headerdict, dict):
        headerdict["x-amzn-requestid"] = req_id
    return req_id


core_responses.gen_amzn_requestid_long = _gen_request_id
ec_models.random = mock_random  # MotoRandom is a random.Random: .choices() works


# --- EC2: CreateLaunchTemplateVersion ----------------------------------------------
# moto's LaunchTemplates.create_launch_template_version stores LaunchTemplateData
# as parsed, so UserData stays a plain str; LaunchTemplateVersion.user_data then
# asserts it is a Base64EncodedString and any ASG launch from that version fails
# with HTTP 500 (AssertionError). It also ignores SourceVersion. Fixed: UserData is
# converted like CreateLaunchTemplate does (invalid base64 -> InvalidUserData.Malformed),
# and SourceVersion copies the source version's data with the given keys on top
# (AWS: "inherits the launch parameters of the source version, except for
# parameters that you specify"). DescribeLaunchTemplateVersions returns it base64.
# It also ignores ClientToken, the idempotency token the AWS SDKs fill in and keep across
# retries: a retry after a lost answer made a second version. Fixed: a token seen before
# on the same template returns the version it created (AWS: "ensure the idempotency").
_lt_client_tokens: dict[tuple[str, str], Any] = {}


def _create_launch_template_version(self: LaunchTemplates) -> ActionResult:
    name = self._get_param("LaunchTemplateName")
    tmpl_id = self._get_param("LaunchTemplateId")
    if tmpl_id:
        template = self.ec2_backend.get_launch_template(tmpl_id)
    else:
        template = self.ec2_backend.get_launch_template_by_name(name)
    token = self._get_param("ClientToken")
    earlier = _lt_client_tokens.get((template.id, token)) if token else None
    if earlier is not None and earlier in template.versions:
        return _launch_template_version_result(self, template, earlier)
    description = self._get_param("VersionDescription")
    data = self._get_param("LaunchTemplateData", {})
    if data.get("UserData") is not None:
        data["UserData"] = parse_user_data(data["UserData"])
    source = self._get_param("SourceVersion")
    if source:
        merged = copy.deepcopy(template.get_version(source).data)
        merged.update(data)
        data = merged
    self.error_on_dryrun()
    version = template.create_version(data, description)
    if token:
        _lt_client_tokens[(template.id, token)] = version
    return _launch_template_version_result(self, template, version)


def _launch_template_version_result(self: LaunchTemplates, template: Any, version: Any) -> ActionResult:
    return ActionResult({
        "LaunchTemplateVersion": {
            "CreateTime": version.create_time,
            "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
            "DefaultVersion": template.is_default(version),
            "LaunchTemplateData": version.data,
            "LaunchTemplateId": template.id,
            "LaunchTemplateName": template.name,
            "VersionDescription": version.description,
            "VersionNumber": version.number,
        }
    })


LaunchTemplates.create_launch_template_version = _create_launch_template_version


# --- Auto Scaling: instances launched from the group's launch template version ------
# FakeAutoScalingGroup.replace_autoscaling_group_instances passes
# {"LaunchTemplateId": id} to run_instances without a version, so the EC2 instance's
# tags (aws:ec2launchtemplate:version), security groups and block devices come from
# the template's *default* version; and InstanceState.launch_template reports the
# template's default version for every instance. After UpdateAutoScalingGroup moves
# the group to version N, new instances must show version N, old ones their own.
_orig_replace = asg_models.FakeAutoScalingGroup.replace_autoscaling_group_instances
_orig_run_instances = InstanceBackend.run_instances


def _replace_instances(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
    _ctx.asg = self
    try:
        _orig_replace(self, count_needed, propagated_tags)
    finally:
        _ctx.asg = None


def _run_instances(self: Any, image_id: str, count: int, user_data: Any, sgs: list[str], **kwargs: Any) -> Any:
    group = getattr(_ctx, "asg", None)
    lt = kwargs.get("launch_template")
    if group is not None and lt and group.ec2_launch_template is not None:
        number = group.ec2_launch_template.get_version(group.launch_template_version).number
        kwargs["launch_template"] = {**lt, "Version": str(number)}
    reservation = _orig_run_instances(self, image_id, count, user_data, sgs, **kwargs)
    # InstanceBackend.run_instances takes UserData, InstanceType, SecurityGroupIds ... from a
    # launch template, but not IamInstanceProfile: instances launched by an ASG (or RunInstances
    # with only a template) had no instance profile, so IMDS had no credentials for the node.
    # AWS launches them with the template's profile; associated here as RunInstances does.
    if kwargs.get("launch_template") and not kwargs.get("iam_instance_profile_name") and not kwargs.get("iam_instance_profile_arn"):
        profile = (self._get_template_from_args(kwargs["launch_template"]).data or {}).get("IamInstanceProfile") or {}
        for inst in reservation.instances:
            if profile.get("Arn"):
                self.associate_iam_instance_profile(instance_id=inst.id, iam_instance_profile_arn=profile["Arn"])
            elif profile.get("Name"):
                self.associate_iam_instance_profile(instance_id=inst.id, iam_instance_profile_name=profile["Name"])
    return reservation


_orig_instance_state_init = asg_models.InstanceState.__init__


def _instance_state_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _orig_instance_state_init(self, *args, **kwargs)
    group = self.auto_scaling_group
    lt = group.ec2_launch_template if group is not None else None
    # The version spec the group had when this instance joined it (e.g. "3").
    self._sandbox_lt = None if lt is None else {
        "LaunchTemplateId": lt.id,
        "LaunchTemplateName": lt.name,
        "Version": str(group.launch_template_version),
    }


asg_models.FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace_instances
InstanceBackend.run_instances = _run_instances
asg_models.InstanceState.__init__ = _instance_state_init
asg_models.InstanceState.launch_template = property(lambda self: getattr(self, "_sandbox_lt", None))


# --- Auto Scaling: an update that does not name a launch source keeps the group's -------
# FakeAutoScalingGroup.update sets self.mixed_instances_policy = the request's, so an
# UpdateAutoScalingGroup that only changes sizes (or tags, health checks) erased a group's
# MixedInstancesPolicy, and the group fell back to the plain launch template it was created
# with. AWS changes only what the request names ("UpdateAutoScalingGroup": parameters you do
# not specify are not changed).
_orig_group_update = asg_models.FakeAutoScalingGroup.update


def _group_update(self: Any, *args: Any, **kwargs: Any) -> None:
    names_source = kwargs.get("launch_config_name") or kwargs.get("launch_template") or kwargs.get("mixed_instances_policy")
    if not names_source and self.mixed_instances_policy:
        kept = copy.deepcopy(self.mixed_instances_policy)
        spec = kept.get("LaunchTemplate", {}).get("LaunchTemplateSpecification", {})
        if spec.get("LaunchTemplateId"):
            spec.pop("LaunchTemplateName", None)  # moto stores both; its own check takes only one
        kwargs["mixed_instances_policy"] = kept
    _orig_group_update(self, *args, **kwargs)


asg_models.FakeAutoScalingGroup.update = _group_update


# --- Auto Scaling: desired-capacity history -----------------------------------------
# Every write of FakeAutoScalingGroup.desired_capacity (Create/Update/SetDesiredCapacity,
# policies, detach/terminate with decrement, delete) goes through this property, so
# back-to-back changes (1 -> 0 -> 1) are all recorded, whatever code path made them.
def _get_desired(self: Any) -> Any:
    return self.__dict__.get("_sandbox_desired")


def _set_desired(self: Any, value: Any) -> None:
    old = self.__dict__.get("_sandbox_desired")
    self.__dict__["_sandbox_desired"] = value
    if old != value or "_sandbox_desired_set" not in self.__dict__:
        self.__dict__["_sandbox_desired_set"] = True
        with _lock:
            _seq["asg"] += 1
            _asg_history.append({
                "seq": _seq["asg"],
                "ts": _now(),
                "asg": self.name,
                "from": old,
                "to": value,
                "action": getattr(_ctx, "action", None),
            })


asg_models.FakeAutoScalingGroup.desired_capacity = property(_get_desired, _set_desired)


# --- ElastiCache: replication groups ---------------------------------------------------
# CreateReplicationGroup (checked): AutomaticFailover, MultiAZ, AuthTokenEnabled,
# TransitEncryptionEnabled, AtRestEncryptionEnabled, the port (in the endpoints) and
# Tags (ListTagsForResource by ARN) are stored and returned as AWS does.
# Patched: NumCacheClusters was ignored (only ReplicasPerNodeGroup counted): now it
# sets the node count when ReplicasPerNodeGroup is absent. AuthToken without
# TransitEncryptionEnabled is refused, as AWS does. Optional "creating" delay.
_orig_rg_init = ec_models.ReplicationGroup.__init__


def _rg_init(self: Any, *args: Any, **kwargs: Any) -> None:
    if kwargs.get("auth_token") and not kwargs.get("transit_encryption_enabled"):
        raise InvalidParameterValueException(
            "AuthToken can only be specified when TransitEncryptionEnabled is true."
        )
    n = kwargs.get("num_cache_clusters")
    if not kwargs.get("replicas_per_node_group") and n and int(n) > 1:
        kwargs["replicas_per_node_group"] = int(n) - 1
    _orig_rg_init(self, *args, **kwargs)
    self._sandbox_ready_at = time.monotonic() + _config["redisCreateDelayMs"] / 1000.0


def _rg_get_status(self: Any) -> str:
    status = self.__dict__.get("_sandbox_status")
    if status == "available" and time.monotonic() < self.__dict__.get("_sandbox_ready_at", 0):
        return "creating"
    return status


def _rg_set_status(self: Any, value: str) -> None:
    self.__dict__["_sandbox_status"] = value


ec_models.ReplicationGroup.__init__ = _rg_init
ec_models.ReplicationGroup.status = property(_rg_get_status, _rg_set_status)


# DeleteReplicationGroup only set status "deleting" and the group stayed forever.
# Now it is removed (its member clusters are ids on the group, and any CacheCluster
# created into the group is removed too); the response still says "deleting", and
# Describe then answers ReplicationGroupNotFoundFault, like AWS once deletion ends.
_orig_rg_delete = ec_models.ElastiCacheBackend.delete_replication_group


def _rg_delete(self: Any, replication_group_id: str, retain_primary_cluster: Any) -> Any:
    group = _orig_rg_delete(self, replication_group_id, retain_primary_cluster)
    self.replication_groups.pop(replication_group_id, None)
    for cid in [c for c, cc in self.cache_clusters.items()
                if getattr(cc, "replication_group_id", None) == replication_group_id]:
        self.cache_clusters.pop(cid, None)
    return group


ec_models.ElastiCacheBackend.delete_replication_group = _rg_delete


# ModifyReplicationGroup is not implemented in 5.2.1 (NotImplementedError -> 500).
# Minimum: applied at once (status stays "available"; no PendingModifiedValues).
def _modify_replication_group(self: ElastiCacheResponse) -> ActionResult:
    backend = self.elasticache_backend
    rg_id = self._get_param("ReplicationGroupId")
    if rg_id not in backend.replication_groups:
        raise ReplicationGroupNotFound(rg_id)
    rg = backend.replication_groups[rg_id]
    description = self._get_param("ReplicationGroupDescription")
    if description is not None:
        rg.description = description
    for param, attr in (("CacheNodeType", "cache_node_type"), ("EngineVersion", "engine_version"),
                        ("SecurityGroupIds", "security_group_ids")):
        value = self._get_param(param)
        if value is not None:
            setattr(rg, attr, value)
    for param, attr in (("AutomaticFailoverEnabled", "automatic_failover"), ("MultiAZEnabled", "multi_az")):
        value = self._get_bool_param(param)
        if value is not None:
            setattr(rg, attr, "enabled" if value else "disabled")
    transit = self._get_bool_param("TransitEncryptionEnabled")
    if transit is not None:
        rg.transit_encryption_enabled = transit
    token = self._get_param("AuthToken")
    strategy = (self._get_param("AuthTokenUpdateStrategy") or "").upper()
    if token or strategy:
        if not rg.transit_encryption_enabled:
            raise InvalidParameterValueException(
                "AuthToken can only be modified when TransitEncryptionEnabled is true."
            )
        if strategy == "DELETE":
            rg.auth_token_enabled = False
        elif token and strategy in ("ROTATE", "SET"):
            rg.auth_token_enabled = True
        else:
            raise InvalidParameterValueException(
                "AuthTokenUpdateStrategy must be ROTATE or SET with an AuthToken, or DELETE."
            )
        rg.auth_token_last_modified_date = datetime.now(timezone.utc)
    return ActionResult({"ReplicationGroup": rg})


ElastiCacheResponse.modify_replication_group = _modify_replication_group


# --- More patches, one module each beside this file (after the ones above: they wrap some) ---
import patch_elasticache  # noqa: E402,F401  tagging needs "available"; AuthToken rules
import patch_ec2_userdata  # noqa: E402,F401  the 16 KB user data limit
import patch_asg_terminating  # noqa: E402  Terminating / Terminating:Wait, lifecycle actions

patch_asg_terminating.config = _config
import patch_elb_health  # noqa: E402  target health from the simulator, ASG ELB health checks
import patch_iam_sessions  # noqa: E402,F401  STS session (ASIA) callers held to their role's policies
import patch_iam_simulate  # noqa: E402,F401  iam:SimulatePrincipalPolicy (moto has none), same evaluation
import patch_ssm_commands  # noqa: E402  SSM Run Command carried out by the simulator's nodes

patch_elb_health.start(_config)  # adds elbCheckMs; starts the health checker thread


# --- Reset also clears our logs ----------------------------------------------------------
_orig_api_reset = MotoAPIBackend.reset


def _api_reset(self: Any) -> None:
    _orig_api_reset(self)
    with _lock:
        _calls.clear()
        _asg_history.clear()
    _lt_client_tokens.clear()


MotoAPIBackend.reset = _api_reset


# --- WSGI middleware: /_sandbox endpoints and the call log --------------------------------
def _service_and_action(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    service = None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:  # Credential=AKID/date/region/service/aws4_request
        parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(parts) >= 5:
            service = parts[3]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:  # JSON protocols: "secretsmanager.CreateSecret"
        return service or target.split(".", 1)[0], target.rsplit(".", 1)[1]
    if service == "s3":  # REST: the action is the method and the sub-resource
        return service, _s3_action(environ)
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action", [None])[0]
    if action is None and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)  # put the body back for moto
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]
    return service, action


# S3 names its REST operations by method and sub-resource; the call log names them as the SDK
# does, so tests tell reads (HeadBucket, Get*, List*) from writes.
_S3_BUCKET_SUBRESOURCES = {"location": "BucketLocation", "encryption": "BucketEncryption", "tagging": "BucketTagging",
                           "policy": "BucketPolicy", "versioning": "BucketVersioning", "acl": "BucketAcl"}


def _s3_action(environ: dict[str, Any]) -> str:
    method = environ.get("REQUEST_METHOD", "GET")
    path = [p for p in environ.get("PATH_INFO", "").split("/") if p]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if not path:
        return "ListBuckets" if method == "GET" else f"{method}Service"
    if len(path) == 1:
        sub = next((v for k, v in _S3_BUCKET_SUBRESOURCES.items() if k in query), None)
        verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method)
        if sub and verb:
            return f"{verb}{sub}"
        return {"HEAD": "HeadBucket", "GET": "ListObjects", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, f"{method}Bucket")
    return {"HEAD": "HeadObject", "GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method, f"{method}Object")


class SandboxApp:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/_sandbox/"):
            return self.sandbox(path, method, environ, start_response)
        if path.startswith("/moto-api") or path == "/favicon.ico":
            return self.inner(environ, start_response)

        service, action = _service_and_action(environ)
        entry: dict[str, Any] = {
            "seq": 0, "ts": _now(), "service": service, "action": action,
            "userAgent": environ.get("HTTP_USER_AGENT"),
            "amzUserAgent": environ.get("HTTP_X_AMZ_USER_AGENT"),
            "status": None,
        }

        def _start(status: str, headers: Any, exc_info: Any = None) -> Any:
            entry["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        _ctx.action = action
        try:
            return self.inner(environ, _start)
        except Exception:
            entry["status"] = 500
            raise
        finally:
            _ctx.action = None
            with _lock:
                _seq["calls"] += 1
                entry["seq"] = _seq["calls"]
                _calls.append(entry)

    def sandbox(self, path: str, method: str, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        logs = {"/_sandbox/calls": _calls, "/_sandbox/asg-history": _asg_history}
        if path in logs:
            with _lock:
                if method == "DELETE":
                    logs[path].clear()
                    return json_response(start_response, "200 OK", {"status": "ok"})
                since = int(parse_qs(environ.get("QUERY_STRING", "")).get("since", ["0"])[0] or 0)
                return json_response(start_response, "200 OK", [e for e in logs[path] if e["seq"] > since])
        if path == "/_sandbox/config":
            if method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                for key in ("redisCreateDelayMs", "terminateDelayMs", "elbCheckMs"):
                    if key in body:
                        _config[key] = int(body[key])
            return json_response(start_response, "200 OK", _config)
        answer = patch_elb_health.handle(path, method, environ, start_response)  # target-health, asg-replacements
        if answer is None:
            answer = patch_ssm_commands.handle(path, method, environ, start_response)  # ssm/agents, pending, result
        if answer is not None:
            return answer
        if path == "/_sandbox/health":
            return json_response(start_response, "200 OK", {"status": "ok", "moto": moto.__version__})
        return json_response(start_response, "404 Not Found", {"error": f"no such endpoint {method} {path}"})


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    if not moto.__version__.startswith("5.2."):
        print(f"warning: these patches were written for moto 5.2.x, this is {moto.__version__}", file=sys.stderr)
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = SandboxApp(DomainDispatcherApplication(create_backend_app))
    print(f"moto {moto.__version__} (tfe sandbox) on http://127.0.0.1:{port}", flush=True)
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main()
