"""ELBv2 target health driven by the TFE node simulator, and the Auto Scaling ELB health check
(imported by server.py; server.py calls handle() for its /_sandbox/ endpoints and start() in main).

    POST /_sandbox/target-health   {"<instanceId>": {"state": "initial"|"healthy"|"unhealthy",
                                                     "ports": [443, 8800], "reason": "text",
                                                     "code": 503} | null, ...}
                                   merged per instance (an entry replaces that instance's entry;
                                   null forgets it); answers the whole map. "ports": the ports
                                   whose health check passes when healthy (absent = every port);
                                   "code": the HTTP status the failing health check answered.
    GET    /_sandbox/target-health the map
    GET    /_sandbox/asg-replacements  every instance an ASG took out of service for its health
    DELETE /_sandbox/asg-replacements  (GET takes ?since=<seq>)
    config key elbCheckMs (GET/POST /_sandbox/config; env MOTO_SANDBOX_ELB_CHECK_MS, default 500):
           how often the background health checker runs.

Everything here is cleared by POST /moto-api/reset. Each patch names the moto (5.2.1) function it
changes and the AWS behaviour it reproduces. Sources: Elastic Load Balancing API reference,
TargetHealth (reason codes); AWS re:Post "troubleshoot and fix failing health checks for
Application Load Balancers" (descriptions); EC2 Auto Scaling API reference
(CreateAutoScalingGroup HealthCheckGracePeriod "Default: 0 seconds", DescribeLoadBalancerTargetGroups
and TrafficSourceState states); EC2 Auto Scaling user guide ("Set the health check grace period",
"View the reason for health check failures", "Troubleshoot Amazon EC2 Auto Scaling: Health checks").
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any

from wsgi_json import json_response
from urllib.parse import parse_qs

from moto.autoscaling import models as asg_models
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.responses import EC2Response
from moto.elbv2 import models as elbv2_models
from moto.elbv2.responses import ELBV2Response
from moto.moto_api._internal.models import MotoAPIBackend

# One lock over the Auto Scaling, EC2 and ELBv2 state: held by every request to those services
# (moto's server is threaded) and by the background checker below. It is patch_asg_terminating's
# lock when that module is there (it holds it in every Auto Scaling request and in its timer):
# one lock, so no two threads can take two locks in opposite orders. Re-entrant.
try:
    import patch_asg_terminating

    STATE_LOCK = patch_asg_terminating.lock
except ImportError:  # pragma: no cover - that module is optional here
    STATE_LOCK = threading.RLock()

_reports: dict[str, dict[str, Any]] = {}  # instance id -> what the simulator last said
_replacements: list[dict[str, Any]] = []
_activities: list[dict[str, Any]] = []  # DescribeScalingActivities entries we add
_seq = {"replacements": 0}  # never reset: a poller's ?since= stays valid across resets
_tls = threading.local()
_config: dict[str, Any] = {}
_STATES = ("initial", "healthy", "unhealthy")

# Lifecycle states in which an ASG instance is registered with its target groups. AWS registers
# an instance once it is launched (after a launch lifecycle hook, Pending:Proceed) and deregisters
# it before Terminating:Wait, on Standby and on Detaching.
_REGISTERED_STATES = ("Pending:Proceed", "InService")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _aws_time() -> str:  # the "At 2022-05-14T20:11:53Z ..." of scaling activity causes
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Serialize requests that touch ASG / EC2 / ELBv2 state ---------------------------------------
def _locked(fn: Any) -> Any:
    def call_action(self: Any) -> Any:
        with STATE_LOCK:
            return fn(self)

    return call_action


AutoScalingResponse.call_action = _locked(AutoScalingResponse.call_action)
EC2Response.call_action = _locked(EC2Response.call_action)
ELBV2Response.call_action = _locked(ELBV2Response.call_action)


# --- ELBv2: DescribeTargetHealth follows the simulator -------------------------------------------
# FakeTargetGroup.health_for answers "healthy" for every registered running instance. AWS answers
# what its health checks found, on the target group's health check port (HealthCheckPort, which
# by default is "traffic-port": the target's port):
#   initial   Elb.RegistrationInProgress  "Target registration is in progress"  (nothing reported
#             yet, or the node says initial)
#   healthy   (no reason)                                  the node is healthy on that port
#   unhealthy Target.ResponseCodeMismatch "Health checks failed with these codes: [503]"
#             (HTTP/HTTPS health checks, when the node reported the code its check answered)
#   unhealthy Target.FailedHealthChecks   "Health checks failed"  (otherwise: nothing listening,
#             connection refused, TCP checks)
#   unavailable Target.HealthCheckDisabled "Health checks disabled" (HealthCheckEnabled false)
# Unregistered, draining and stopped targets keep moto's answers.
def target_health(tg: Any, target: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    """(State, Reason, Description, HealthCheckPort) for a registered instance target."""
    hc_port = str(tg.health_check_port or "")
    port = int(hc_port) if hc_port.isdigit() else int(target.get("Port") or tg.port or 0)
    if not tg.health_check_enabled:
        return "unavailable", "Target.HealthCheckDisabled", "Health checks disabled", str(port)
    report = _reports.get(target["Id"])
    if report is None or report["state"] == "initial":
        return "initial", "Elb.RegistrationInProgress", "Target registration is in progress", str(port)
    ports = report.get("ports")
    if report["state"] == "healthy" and (ports is None or port in ports):
        return "healthy", None, None, str(port)
    code = report.get("code")
    if report["state"] == "unhealthy" and code is not None and (tg.health_check_protocol or "").upper() in ("HTTP", "HTTPS"):
        return "unhealthy", "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]", str(port)
    return "unhealthy", "Target.FailedHealthChecks", "Health checks failed", str(port)


_orig_health_for = elbv2_models.FakeTargetGroup.health_for


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    status = _orig_health_for(self, target, ec2_backend)
    registered = self.targets.get(target["Id"])
    if status.status != "healthy" or registered is None or self.target_type != "instance":
        return status
    state, reason, description, port = target_health(self, registered)
    status.status, status.reason, status.description, status.health_check_port = state, reason, description, port
    return status


elbv2_models.FakeTargetGroup.health_for = _health_for


# --- Auto Scaling: instances registered with / deregistered from the group's target groups -------
# AutoScalingBackend.update_attached_target_groups only ever registers (every instance state,
# Standby included) and never deregisters: instances the group scaled in, terminated
# (TerminateInstanceInAutoScalingGroup), detached or put on Standby stayed registered and
# answered "healthy" in DescribeTargetHealth. It failed the whole call (TargetGroupNotFound) when
# an attached target group had been deleted. And EC2 TerminateInstances of a group's instance
# (AutoScalingBackend.notify_terminate_instances) launched the replacement without registering
# it. AWS registers each instance the group launches and deregisters each one that leaves it.
# Now one sync does both, for the target groups of TargetGroupARNs and of TrafficSources; it runs
# where moto called update_attached_target_groups, after notify_terminate_instances, and on every
# background tick (so lifecycle changes made by other patches are followed too).
def _members(group: Any) -> dict[str, set[str]]:
    return group.__dict__.setdefault("_sandbox_members", {})  # TG arn -> ids we registered


def _tg_states(group: Any) -> dict[str, str]:
    return group.__dict__.setdefault("_sandbox_tg_state", {})  # TG arn -> Added / InService


def _traffic(group: Any) -> list[dict[str, str]]:
    return group.__dict__.setdefault("_sandbox_traffic", [])  # [{"Identifier", "Type"}]


def group_target_groups(group: Any) -> list[str]:
    arns = list(group.target_group_arns or [])
    for source in _traffic(group):
        if source["Type"] == "elbv2" and source["Identifier"] not in arns:
            arns.append(source["Identifier"])
    return arns


def _deregister(tg: Any, ids: set[str]) -> None:
    for iid in sorted(ids):
        t = tg.targets.pop(iid, None)
        if t is not None:
            tg.deregistered_targets[iid] = t


def sync_group_targets(backend: Any, group: Any) -> None:
    elbv2 = backend.elbv2_backend
    want = {s.instance.id for s in group.instance_states if s.lifecycle_state in _REGISTERED_STATES}
    members, states = _members(group), _tg_states(group)
    arns = group_target_groups(group)
    for arn in arns:
        states.setdefault(arn, "Added")
        mine = members.setdefault(arn, set())
        tg = elbv2.target_groups.get(arn)
        if tg is None:
            continue
        # Only instances new to the group are registered: one deregistered by hand (DeregisterTargets)
        # stays deregistered, as in AWS.
        for iid in sorted(want - mine):
            instance = backend.ec2_backend.get_instance_by_id(iid)
            if instance is None or instance.state != "running":
                continue  # retried on the next sync
            if iid not in tg.targets:
                tg.register([{"Id": iid, "Port": tg.port}])
                tg.terminated_targets.pop(iid, None)
            mine.add(iid)
        _deregister(tg, mine - want)
        mine &= want
    for arn in [a for a in members if a not in arns]:
        tg = elbv2.target_groups.get(arn)
        if tg is not None:
            _deregister(tg, members[arn])
        members.pop(arn, None)
        states.pop(arn, None)


def _update_attached_target_groups(self: Any, group_name: str) -> None:
    group = self.autoscaling_groups.get(group_name)
    if group is not None:
        sync_group_targets(self, group)


asg_models.AutoScalingBackend.update_attached_target_groups = _update_attached_target_groups

_orig_notify_terminate = asg_models.AutoScalingBackend.notify_terminate_instances


def _notify_terminate_instances(self: Any, instance_ids: list[str]) -> None:
    _orig_notify_terminate(self, instance_ids)
    for group in list(self.autoscaling_groups.values()):
        sync_group_targets(self, group)


asg_models.AutoScalingBackend.notify_terminate_instances = _notify_terminate_instances


# AutoScalingBackend.detach_load_balancer_target_groups deregistered every instance of the group
# and failed (InvalidTarget) when one of them was not registered (e.g. on Standby). Now it
# deregisters what the group registered there, unless the group still uses that target group
# through TrafficSources.
def _detach_load_balancer_target_groups(self: Any, group_name: str, target_group_arns: list[str]) -> None:
    group = self.autoscaling_groups[group_name]
    group.target_group_arns = [x for x in group.target_group_arns if x not in target_group_arns]
    sync_group_targets(self, group)


asg_models.AutoScalingBackend.detach_load_balancer_target_groups = _detach_load_balancer_target_groups

# AutoScalingBackend.delete_auto_scaling_group: after the group is gone, nothing may stay
# registered on its behalf (moto's scale to 0 before the delete leaves instances that another
# patch keeps in Terminating).
_orig_delete_group = asg_models.AutoScalingBackend.delete_auto_scaling_group


def _delete_auto_scaling_group(self: Any, group_name: str) -> None:
    group = self.autoscaling_groups.get(group_name)
    _orig_delete_group(self, group_name)
    if group is not None:
        for arn, ids in _members(group).items():
            tg = self.elbv2_backend.target_groups.get(arn)
            if tg is not None:
                _deregister(tg, ids)
        _members(group).clear()


asg_models.AutoScalingBackend.delete_auto_scaling_group = _delete_auto_scaling_group


# --- Auto Scaling: CreateAutoScalingGroup ----------------------------------------------------------
# AutoScalingBackend.create_auto_scaling_group sets HealthCheckGracePeriod to 300 when it is
# absent *or 0* (`health_check_period or 300`). AWS: "Default: 0 seconds" through the API, CLI
# and SDKs (300 is the console's default), and 0 turns the grace period off.
# AutoScalingResponse.create_auto_scaling_group ignored TrafficSources. Now stored and used like
# TargetGroupARNs. Target groups given at creation are InService at once (AWS: "Target groups
# also have an InService state if you attach them in the CreateAutoScalingGroup API call").
_orig_create_group_response = AutoScalingResponse.create_auto_scaling_group
_orig_create_group = asg_models.AutoScalingBackend.create_auto_scaling_group


def _parse_traffic_sources(raw: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for source in raw or []:
        identifier = source.get("Identifier")
        if not identifier:
            raise ValidationError("TrafficSourceIdentifier Identifier must be specified.")
        kind = source.get("Type") or ("elbv2" if ":targetgroup/" in identifier else "elb")
        if kind not in ("elb", "elbv2", "vpc-lattice"):
            raise ValidationError(f"Traffic source type {kind} is not supported. Valid types are elb, elbv2, vpc-lattice.")
        if all(o["Identifier"] != identifier for o in out):
            out.append({"Identifier": identifier, "Type": kind})
    return out


def _create_group_response(self: AutoScalingResponse) -> Any:
    _tls.create_traffic = _parse_traffic_sources(self._get_param("TrafficSources", []))
    try:
        return _orig_create_group_response(self)
    finally:
        _tls.create_traffic = None


def _create_group(self: Any, *args: Any, **kwargs: Any) -> Any:
    group = _orig_create_group(self, *args, **kwargs)
    grace = kwargs.get("health_check_period")
    group.health_check_grace_period = int(grace) if grace not in (None, "") else 0
    _traffic(group).extend(getattr(_tls, "create_traffic", None) or [])
    for arn in group_target_groups(group):
        _tg_states(group)[arn] = "InService"
    sync_group_targets(self, group)
    return group


AutoScalingResponse.create_auto_scaling_group = _create_group_response
asg_models.AutoScalingBackend.create_auto_scaling_group = _create_group


# AttachLoadBalancerTargetGroups: attached later, a target group is "Added" once the instances
# are registered and "InService" once one of them passed the ELB health check (AWS: "If no
# registered instances pass the health checks, the target group doesn't enter the InService
# state"; only then does the group replace instances that target group reports unhealthy).
# DescribeLoadBalancerTargetGroups answered "Added" always; now the real state.
def _describe_load_balancer_target_groups(self: AutoScalingResponse) -> ActionResult:
    group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
    states = _tg_states(group)
    return ActionResult({"LoadBalancerTargetGroups": [
        {"LoadBalancerTargetGroupARN": arn, "State": states.get(arn, "Added")} for arn in group.target_group_arns
    ]})


AutoScalingResponse.describe_load_balancer_target_groups = _describe_load_balancer_target_groups


# --- Auto Scaling: AttachTrafficSources / DetachTrafficSources / DescribeTrafficSources --------
# Not implemented in moto 5.2.1 (HTTP 500). AWS (API reference): elbv2 target groups (by ARN),
# elb load balancers (by name) and vpc-lattice target groups; the group registers its instances
# with elbv2 target groups as with AttachLoadBalancerTargetGroups (elb and vpc-lattice sources are
# only recorded here). DescribeTrafficSources lists the sources attached either way, with
# TrafficSourceState (Adding, Added, InService, Removing, Removed); DescribeAutoScalingGroups
# shows TrafficSources.
def _group_or_fail(self: AutoScalingResponse) -> Any:
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.autoscaling_groups.get(name)
    if group is None:
        raise ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return group


def _attach_traffic_sources(self: AutoScalingResponse) -> ActionResult:
    group = _group_or_fail(self)
    current = _traffic(group)
    for source in _parse_traffic_sources(self._get_param("TrafficSources", [])):
        if all(s["Identifier"] != source["Identifier"] for s in current):
            current.append(source)
    sync_group_targets(self.autoscaling_backend, group)
    return EmptyResult()


def _detach_traffic_sources(self: AutoScalingResponse) -> ActionResult:
    group = _group_or_fail(self)
    gone = {s["Identifier"] for s in _parse_traffic_sources(self._get_param("TrafficSources", []))}
    group.__dict__["_sandbox_traffic"] = [s for s in _traffic(group) if s["Identifier"] not in gone]
    sync_group_targets(self.autoscaling_backend, group)
    return EmptyResult()


def _describe_traffic_sources(self: AutoScalingResponse) -> ActionResult:
    group = _group_or_fail(self)
    kind = self._get_param("TrafficSourceType")
    states = _tg_states(group)
    sources = [{"Identifier": arn, "Type": "elbv2"} for arn in group.target_group_arns]
    sources += [{"Identifier": name, "Type": "elb"} for name in group.load_balancer_names]
    sources += [s for s in _traffic(group) if all(s["Identifier"] != o["Identifier"] for o in sources)]
    out = [
        {"TrafficSource": s["Identifier"], "Identifier": s["Identifier"], "Type": s["Type"],
         "State": states.get(s["Identifier"], "Added") if s["Type"] == "elbv2" else "Added"}
        for s in sources if not kind or s["Type"] == kind
    ]
    return ActionResult({"TrafficSources": out})


AutoScalingResponse.attach_traffic_sources = _attach_traffic_sources
AutoScalingResponse.detach_traffic_sources = _detach_traffic_sources
AutoScalingResponse.describe_traffic_sources = _describe_traffic_sources
asg_models.FakeAutoScalingGroup.traffic_sources = property(lambda self: list(_traffic(self)))


# --- Auto Scaling: health checks replace unhealthy instances --------------------------------------
# moto never checks instance health: an instance stays InService/Healthy whatever its target
# groups say, and SetInstanceHealth Unhealthy only changes the label. AWS (EC2 Auto Scaling user
# guide, health checks): with HealthCheckType ELB, an InService instance whose grace period
# (HealthCheckGracePeriod, from when it entered InService) has passed and that any InService
# target group of the group reports unhealthy is marked Unhealthy and replaced: terminated, and a
# new instance launched to meet the desired capacity. An instance marked Unhealthy (also by
# SetInstanceHealth, whatever the HealthCheckType) is replaced the same way. SuspendProcesses
# HealthCheck stops the checks; ReplaceUnhealthy lets them mark instances Unhealthy but not
# replace them. HealthCheckType EC2 groups never act on target health.
# The replacement terminates through AutoScalingBackend.terminate_instance (what
# TerminateInstanceInAutoScalingGroup calls), so other patches of that path apply, and is recorded
# in GET /_sandbox/asg-replacements and as DescribeScalingActivities entries (moto answers that
# call with an empty list) with AWS's cause texts:
#   "At 2022-05-14T20:11:53Z an instance was taken out of service in response to an ELB system
#    health check failure."  /  "... in response to a user health-check."
ELB_CAUSE = "an instance was taken out of service in response to an ELB system health check failure."
USER_CAUSE = "an instance was taken out of service in response to a user health-check."

_orig_instance_state_init = asg_models.InstanceState.__init__


def _instance_state_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _orig_instance_state_init(self, *args, **kwargs)
    if self.lifecycle_state == "InService":
        self.__dict__["_sandbox_in_service_at"] = time.monotonic()


asg_models.InstanceState.__init__ = _instance_state_init


def _uses_elb_checks(group: Any) -> bool:
    return "ELB" in [t.strip().upper() for t in str(group.health_check_type or "EC2").split(",")]


def _advance_tg_states(backend: Any, group: Any) -> None:
    if not _uses_elb_checks(group):
        return
    states = _tg_states(group)
    for arn, state in list(states.items()):
        tg = backend.elbv2_backend.target_groups.get(arn)
        if state != "Added" or tg is None:
            continue
        ids = {s.instance.id for s in group.instance_states}
        if any(target_health(tg, t)[0] == "healthy" for iid, t in tg.targets.items() if iid in ids):
            states[arn] = "InService"


def _check_group(backend: Any, group: Any) -> None:
    suspended = {p["ProcessName"] for p in group.suspended_processes}
    if "HealthCheck" in suspended:
        return
    _advance_tg_states(backend, group)
    now = time.monotonic()
    for state in list(group.instance_states):
        if state.lifecycle_state != "InService":
            continue
        since = state.__dict__.setdefault("_sandbox_in_service_at", now)
        found: dict[str, Any] | None = None
        if state.health_status == "Unhealthy":
            found = state.__dict__.get("_sandbox_unhealthy") or {"cause": USER_CAUSE}
        elif _uses_elb_checks(group) and now - since >= (group.health_check_grace_period or 0):
            for arn in group_target_groups(group):
                tg = backend.elbv2_backend.target_groups.get(arn)
                target = tg.targets.get(state.instance.id) if tg is not None else None
                if target is None or _tg_states(group).get(arn) != "InService":
                    continue
                health = target_health(tg, target)
                if health[0] == "unhealthy":
                    found = {"cause": ELB_CAUSE, "targetGroupArn": arn,
                             "targetHealth": {"State": health[0], "Reason": health[1], "Description": health[2]}}
                    break
        if found is None:
            continue
        state.health_status = "Unhealthy"
        state.__dict__["_sandbox_unhealthy"] = found
        if "ReplaceUnhealthy" not in suspended:
            _replace(backend, group, state, found)


def _replace(backend: Any, group: Any, state: Any, found: dict[str, Any]) -> None:
    iid = state.instance.id
    before = {s.instance.id for s in group.instance_states}
    at = _aws_time()
    backend.terminate_instance(iid, should_decrement=False)
    group = backend.autoscaling_groups.get(group.name, group)
    new_ids = sorted({s.instance.id for s in group.instance_states} - before)
    report = _reports.get(iid)
    _seq["replacements"] += 1
    _replacements.append({
        "seq": _seq["replacements"], "ts": _now(), "asg": group.name, "instanceId": iid,
        "replacedBy": new_ids, "cause": f"At {at} {found['cause']}", "description": f"Terminating EC2 instance: {iid}",
        "targetGroupArn": found.get("targetGroupArn"), "targetHealth": found.get("targetHealth"),
        "nodeReason": report.get("reason") if report else None,
    })
    started = datetime.now(timezone.utc)
    desired = group.desired_capacity or 0
    _activities.append(_activity(group, f"Terminating EC2 instance: {iid}", f"At {at} {found['cause']}", started))
    for new_id in new_ids:
        _activities.append(_activity(
            group, f"Launching a new EC2 instance: {new_id}",
            f"At {_aws_time()} an instance was started in response to a difference between desired and actual "
            f"capacity, increasing the capacity from {max(desired - 1, 0)} to {desired}.", started,
        ))


def _activity(group: Any, description: str, cause: str, started: datetime) -> dict[str, Any]:
    return {
        "ActivityId": str(uuid.uuid4()), "AutoScalingGroupName": group.name, "AutoScalingGroupARN": group.arn,
        "Description": description, "Cause": cause, "StartTime": started, "EndTime": datetime.now(timezone.utc),
        "StatusCode": "Successful", "Progress": 100, "Details": "{}",
    }


def _field(activity: Any, key: str) -> Any:
    if isinstance(activity, dict):
        return activity.get(key)
    return getattr(activity, {"AutoScalingGroupName": "auto_scaling_group_name", "ActivityId": "activity_id",
                              "StartTime": "start_time"}[key], None)


_orig_describe_activities = AutoScalingResponse.describe_scaling_activities


def _describe_scaling_activities(self: AutoScalingResponse) -> Any:
    result = _orig_describe_activities(self)
    name = self._get_param("AutoScalingGroupName")
    ids = self._get_param("ActivityIds", [])
    mine = [a for a in _activities if (not name or a["AutoScalingGroupName"] == name) and (not ids or a["ActivityId"] in ids)]
    if not mine or not isinstance(result, ActionResult) or not isinstance(result.result, dict):
        return result
    activities = list(result.result.get("Activities") or []) + mine
    activities.sort(key=lambda a: _field(a, "StartTime") or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
    return ActionResult({**result.result, "Activities": activities})


AutoScalingResponse.describe_scaling_activities = _describe_scaling_activities


def tick() -> None:
    """One pass over every Auto Scaling backend that exists (never creates one: that would draw IDs)."""
    with STATE_LOCK:
        for _account, regions in list(dict.items(asg_models.autoscaling_backends)):
            for _region, backend in list(dict.items(regions)):
                for group in list(backend.autoscaling_groups.values()):
                    if backend.autoscaling_groups.get(group.name) is not group:
                        continue
                    try:
                        sync_group_targets(backend, group)
                        _check_group(backend, group)
                    except Exception:  # one group's trouble must not stop the others; retried next tick
                        traceback.print_exc(file=sys.stderr)


def _loop() -> None:
    while True:
        time.sleep(max(int(_config.get("elbCheckMs") or 500), 20) / 1000.0)
        try:
            tick()
        except Exception:  # never let the checker die; the next tick retries
            traceback.print_exc(file=sys.stderr)


def start(config: dict[str, Any]) -> None:
    """Shares server.py's /_sandbox/config dict (adds elbCheckMs) and starts the checker thread."""
    global _config
    _config = config
    config.setdefault("elbCheckMs", int(os.environ.get("MOTO_SANDBOX_ELB_CHECK_MS", "500") or 500))
    threading.Thread(target=_loop, name="sandbox-elb-health", daemon=True).start()


# --- Reset ---------------------------------------------------------------------------------------
_orig_api_reset = MotoAPIBackend.reset


def _api_reset(self: Any) -> None:
    with STATE_LOCK:
        _orig_api_reset(self)
        _reports.clear()
        _replacements.clear()
        _activities.clear()


MotoAPIBackend.reset = _api_reset


# --- /_sandbox/ endpoints --------------------------------------------------------------------------
def _validate(instance_id: str, entry: Any) -> dict[str, Any] | None:
    if entry is None:
        return None
    if not isinstance(entry, dict) or entry.get("state") not in _STATES:
        raise ValueError(f"{instance_id}: state must be one of {', '.join(_STATES)}")
    ports = entry.get("ports")
    if ports is not None and (not isinstance(ports, list) or not all(isinstance(p, int) for p in ports)):
        raise ValueError(f"{instance_id}: ports must be a list of integers")
    code = entry.get("code")
    if code is not None and not isinstance(code, int):
        raise ValueError(f"{instance_id}: code must be an integer HTTP status")
    reason = entry.get("reason")
    return {"state": entry["state"], "ports": ports, "reason": None if reason is None else str(reason),
            "code": code, "ts": _now()}


def handle(path: str, method: str, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """Answers this module's /_sandbox/ endpoints; None for any other path."""
    if path == "/_sandbox/target-health":
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("body must be an object of instance id -> health or null")
                updates = {str(k): _validate(str(k), v) for k, v in body.items()}
            except ValueError as err:  # json.JSONDecodeError is a ValueError
                return json_response(start_response, "400 Bad Request", {"error": str(err)})
            with STATE_LOCK:
                for iid, entry in updates.items():
                    if entry is None:
                        _reports.pop(iid, None)
                    else:
                        _reports[iid] = entry
        elif method != "GET":
            return json_response(start_response, "405 Method Not Allowed", {"error": f"{method} {path}"})
        with STATE_LOCK:
            return json_response(start_response, "200 OK", dict(_reports))
    if path == "/_sandbox/asg-replacements":
        with STATE_LOCK:
            if method == "DELETE":
                _replacements.clear()
                return json_response(start_response, "200 OK", {"status": "ok"})
            since = int(parse_qs(environ.get("QUERY_STRING", "")).get("since", ["0"])[0] or 0)
            return json_response(start_response, "200 OK", [e for e in _replacements if e["seq"] > since])
    return None

