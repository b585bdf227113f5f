"""Auto Scaling: instances pass through Terminating before they leave the group (imported by
server.py, after its own patches; server.py hands it its /_sandbox/config dict as `config`).

moto 5.2.1 (FakeAutoScalingGroup.set_desired_capacity, AutoScalingBackend.terminate_instance)
terminates a scaled-in instance in EC2 and drops it from the group in the same call, ignores
termination lifecycle hooks, and has no CompleteLifecycleAction / RecordLifecycleActionHeartbeat
(HTTP 500). AWS (EC2 Auto Scaling user guide, "How lifecycle hooks work in Auto Scaling groups"
and "Amazon EC2 Auto Scaling instance lifecycle"):
  - a scale-in (SetDesiredCapacity, UpdateAutoScalingGroup, policies) or
    TerminateInstanceInAutoScalingGroup first deregisters the instance from the group's load
    balancers / target groups and moves it to Terminating; it no longer counts toward the desired
    capacity, so when the capacity was not decremented a replacement launches at once;
  - with a lifecycle hook for autoscaling:EC2_INSTANCE_TERMINATING the instance waits in
    Terminating:Wait, still running ("While the instance is in the wait state, you can ... connect
    to the instance to download logs or other data before the instance is fully terminated"),
    until CompleteLifecycleAction (CONTINUE or ABANDON: "both ... allow the instance to terminate")
    or until the hook's HeartbeatTimeout ends (its DefaultResult then applies;
    RecordLifecycleActionHeartbeat restarts the timeout); then Terminating:Proceed;
  - then EC2 terminates it (shutting-down, then terminated) and it leaves the group.
Patched, when config["terminateDelayMs"] > 0 (0, the default, keeps moto's behaviour): the
instance stays listed by DescribeAutoScalingGroups / DescribeAutoScalingInstances as
Terminating (no hook) or Terminating:Wait -> Terminating:Proceed (hook); its EC2 state is
shutting-down during Terminating and Terminating:Proceed, which last terminateDelayMs; then it
is terminated in EC2 and removed from the group by a timer thread. CompleteLifecycleAction and
RecordLifecycleActionHeartbeat are implemented; with no instance waiting on that hook they answer
  ValidationError: No active Lifecycle Action found with instance ID <id>   (or: with token <token>)
(the text as AWS returns it, quoted in convox/rack issue #2432 and
spacelift-io/terraform-aws-spacelift-workerpool-on-ec2 PR #197). DeleteAutoScalingGroup acts as
with ForceDelete (moto never refuses a group with instances): outstanding lifecycle actions are
dropped ("This action also deletes any outstanding lifecycle actions associated with the
group"), and the group's lifecycle hooks go with it (moto kept them for a later group of the
same name). A terminating instance is never picked again for scale-in, and target groups do
not re-register it (moto's update_attached_target_groups registered every instance of the
group, and refuses one that is not running with TargetNotRunning). HeartbeatTimeout is not
held to AWS's 30..7200 s range (moto takes any value), which lets tests use short ones.

Every change to a group's instance list, from requests (moto's server is threaded) and from the
timer, happens under `lock`. POST /moto-api/reset forgets every pending termination.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
import uuid
from typing import Any, Callable

from moto.autoscaling import models as asg_models
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import EmptyResult
from moto.ec2.models.instances import InstanceBackend
from moto.moto_api._internal.models import MotoAPIBackend

TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING"
TERMINATING_STATES = ("Terminating", "Terminating:Wait", "Terminating:Proceed")

config: dict[str, Any] = {"terminateDelayMs": int(os.environ.get("MOTO_SANDBOX_TERMINATE_DELAY_MS", "0") or 0)}
lock = threading.RLock()
_cond = threading.Condition(lock)
_pending: list[Any] = []  # asg_models.InstanceState objects now terminating, oldest first
_tls = threading.local()  # .victims: ids whose EC2 termination is deferred; .force_delete
_thread: threading.Thread | None = None


def _delay_s() -> float:
    return max(0, int(config.get("terminateDelayMs") or 0)) / 1000.0


def is_terminating(state: Any) -> bool:
    return state.lifecycle_state in TERMINATING_STATES


def _hiding_terminating(group: Any, fn: Callable[[], Any]) -> Any:
    """Runs fn with the group's terminating instances out of its list (moto would count them,
    pick them again for scale-in, or register them in target groups), then puts them back."""
    hidden = [s for s in group.instance_states if is_terminating(s)]
    if not hidden:
        return fn()
    group.instance_states = [s for s in group.instance_states if not is_terminating(s)]
    try:
        return fn()
    finally:
        group.instance_states = hidden + [s for s in group.instance_states if s not in hidden]


# --- The state machine -------------------------------------------------------------------
def _begin(group: Any, state: Any) -> None:
    """state has just been taken out of service (and out of group.instance_states)."""
    now = time.monotonic()
    hooks: dict[str, dict[str, Any]] = {}
    if _delay_s() > 0 and not getattr(_tls, "force_delete", False):
        for hook in group.autoscaling_backend.describe_lifecycle_hooks(group.name):
            if hook.lifecycle_transition == TERMINATING_TRANSITION:
                timeout = int(hook.heartbeat_timeout)
                hooks[hook.name] = {
                    "token": str(uuid.uuid4()),
                    "timeout": timeout,
                    "deadline": now + timeout,
                    "default": str(hook.default_result or "ABANDON").upper(),
                }
    state._sandbox_term = {"group": group, "hooks": hooks, "deadline": None}
    _deregister_targets(group, state.instance.id)
    if hooks:
        state.lifecycle_state = "Terminating:Wait"
    else:
        _proceed(state, "Terminating", now)
    if state not in group.instance_states:
        group.instance_states.append(state)
    _pending.append(state)
    _wake()


def _proceed(state: Any, label: str, now: float) -> None:
    state.lifecycle_state = label
    instance = state.instance
    if instance.state not in ("shutting-down", "terminated"):
        instance._state.name = "shutting-down"
        instance._state.code = 32
    state._sandbox_term["deadline"] = now + _delay_s()


def _complete(state: Any, hook_name: str, result: str, now: float) -> None:
    hooks = state._sandbox_term["hooks"]
    if result == "ABANDON":
        hooks.clear()  # "ABANDON stops any remaining actions, such as other lifecycle hooks"
    else:
        hooks.pop(hook_name, None)
    if not hooks and state.lifecycle_state == "Terminating:Wait":
        _proceed(state, "Terminating:Proceed", now)


def _finish(state: Any) -> None:
    group = state._sandbox_term["group"]
    group.instance_states = [s for s in group.instance_states if s is not state]
    if state.instance.state != "terminated":
        group.autoscaling_backend.ec2_backend.terminate_instances([state.instance.id])


def _deregister_targets(group: Any, instance_id: str) -> None:
    elbv2 = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns or []:
        target_group = elbv2.target_groups.get(arn)
        if target_group is not None and instance_id in target_group.targets:
            elbv2.deregister_targets(arn, [{"Id": instance_id}])


def _tick(now: float) -> None:
    for state in list(_pending):
        term = state._sandbox_term
        if state not in term["group"].instance_states or state.instance.state == "terminated":
            _pending.remove(state)  # gone another way (EC2 TerminateInstances, DetachInstances)
        elif state.lifecycle_state == "Terminating:Wait":
            for name, hook in list(term["hooks"].items()):
                if now >= hook["deadline"] and name in term["hooks"]:
                    _complete(state, name, hook["default"], now)
        elif term["deadline"] is not None and now >= term["deadline"]:
            _pending.remove(state)
            _finish(state)


def _next_deadline() -> float | None:
    deadlines: list[float] = []
    for state in _pending:
        term = state._sandbox_term
        if state.lifecycle_state == "Terminating:Wait":
            deadlines.extend(h["deadline"] for h in term["hooks"].values())
        elif term["deadline"] is not None:
            deadlines.append(term["deadline"])
    return min(deadlines) if deadlines else None


def _run() -> None:
    with _cond:
        while True:
            try:
                _tick(time.monotonic())
            except Exception:  # keep the timer alive; the traceback goes to moto.log
                traceback.print_exc(file=sys.stderr)
            deadline = _next_deadline()
            if deadline is None:
                _cond.wait(1.0 if _pending else None)
            else:
                _cond.wait(min(1.0, max(0.005, deadline - time.monotonic())))


def _wake() -> None:
    global _thread
    with _cond:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="asg-terminating", daemon=True)
            _thread.start()
        _cond.notify()


# --- Scale-in: FakeAutoScalingGroup.set_desired_capacity / update ----------------------------
_orig_terminate_instances = InstanceBackend.terminate_instances


def _terminate_instances(self: Any, instance_ids: list[str]) -> Any:
    victims = getattr(_tls, "victims", None)
    if victims is None:
        return _orig_terminate_instances(self, instance_ids)
    victims.extend(instance_ids)  # set_desired_capacity's scale-in: deferred to the timer
    return []


_orig_set_desired = asg_models.FakeAutoScalingGroup.set_desired_capacity


def _set_desired_capacity(self: Any, new_capacity: int | None) -> None:
    with lock:
        if _delay_s() <= 0 and not any(is_terminating(s) for s in self.instance_states):
            return _orig_set_desired(self, new_capacity)
        before = [s for s in self.instance_states if not is_terminating(s)]
        outer = getattr(_tls, "victims", None)
        victims: list[str] = []
        _tls.victims = victims
        try:
            _hiding_terminating(self, lambda: _orig_set_desired(self, new_capacity))
        finally:
            _tls.victims = outer
        for state in before:
            if state not in self.instance_states and state.instance.id in victims:
                _begin(self, state)


_orig_update = asg_models.FakeAutoScalingGroup.update


def _update(self: Any, *args: Any, **kwargs: Any) -> None:
    with lock:
        return _hiding_terminating(self, lambda: _orig_update(self, *args, **kwargs))


InstanceBackend.terminate_instances = _terminate_instances
asg_models.FakeAutoScalingGroup.set_desired_capacity = _set_desired_capacity
asg_models.FakeAutoScalingGroup.update = _update


# --- TerminateInstanceInAutoScalingGroup: AutoScalingBackend.terminate_instance --------------
_orig_terminate_instance = asg_models.AutoScalingBackend.terminate_instance


def _terminate_instance(self: Any, instance_id: str, should_decrement: bool) -> Any:
    with lock:
        if _delay_s() <= 0:
            return _orig_terminate_instance(self, instance_id, should_decrement)
        state = next((s for g in self.autoscaling_groups.values() for s in g.instance_states
                      if s.instance.id == instance_id), None)
        if state is None:
            return _orig_terminate_instance(self, instance_id, should_decrement)
        group = state.instance.autoscaling_group
        original = group.desired_capacity
        if is_terminating(state):
            return asg_models.TerminateInstanceActivity(state.instance, original)
        group.instance_states = [s for s in group.instance_states if s is not state]
        if should_decrement:
            group.desired_capacity = original - 1
        group.set_desired_capacity(group.desired_capacity)  # launches the replacement, if any
        _begin(group, state)
        return asg_models.TerminateInstanceActivity(state.instance, original)


asg_models.AutoScalingBackend.terminate_instance = _terminate_instance


# --- DeleteAutoScalingGroup, EC2 TerminateInstances, target groups ---------------------------
_orig_delete_group = asg_models.AutoScalingBackend.delete_auto_scaling_group


def _delete_group(self: Any, group_name: str) -> None:
    with lock:
        group = self.autoscaling_groups.get(group_name)
        now = time.monotonic()
        for state in _pending:
            if state._sandbox_term["group"] is group and state.lifecycle_state == "Terminating:Wait":
                state._sandbox_term["hooks"].clear()
                _proceed(state, "Terminating:Proceed", now)
        _tls.force_delete = True
        try:
            _orig_delete_group(self, group_name)
        finally:
            _tls.force_delete = False
        for key in [k for k, h in self.lifecycle_hooks.items() if h.auto_scaling_group_name == group_name]:
            self.lifecycle_hooks.pop(key, None)


_orig_notify_terminate = asg_models.AutoScalingBackend.notify_terminate_instances


def _notify_terminate(self: Any, instance_ids: list[str]) -> None:
    with lock:
        _orig_notify_terminate(self, instance_ids)


_orig_update_target_groups = asg_models.AutoScalingBackend.update_attached_target_groups


def _update_target_groups(self: Any, group_name: str) -> None:
    group = self.autoscaling_groups[group_name]
    with lock:
        saved = group.instance_states
        if not any(is_terminating(s) for s in saved):
            return _orig_update_target_groups(self, group_name)
        group.instance_states = [s for s in saved if not is_terminating(s)]
        try:
            return _orig_update_target_groups(self, group_name)
        finally:
            group.instance_states = saved


asg_models.AutoScalingBackend.delete_auto_scaling_group = _delete_group
asg_models.AutoScalingBackend.notify_terminate_instances = _notify_terminate
asg_models.AutoScalingBackend.update_attached_target_groups = _update_target_groups


# --- CompleteLifecycleAction, RecordLifecycleActionHeartbeat (not in moto 5.2.1) --------------
def _lifecycle_action(response: AutoScalingResponse) -> tuple[Any, str]:
    backend = response.autoscaling_backend
    group_name = response._get_param("AutoScalingGroupName")
    hook_name = response._get_param("LifecycleHookName")
    token = response._get_param("LifecycleActionToken")
    instance_id = response._get_param("InstanceId")
    for state in _pending:
        term = state._sandbox_term
        group = term["group"]
        hook = term["hooks"].get(hook_name)
        if (group.autoscaling_backend is not backend or group.name != group_name or hook is None
                or state.lifecycle_state != "Terminating:Wait"):
            continue
        if (hook["token"] == token) if token else (state.instance.id == instance_id):
            return state, hook_name
    if token:
        raise ValidationError(f"No active Lifecycle Action found with token {token}")
    raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")


def _complete_lifecycle_action(self: AutoScalingResponse) -> EmptyResult:
    with lock:
        state, hook_name = _lifecycle_action(self)
        _complete(state, hook_name, str(self._get_param("LifecycleActionResult") or "").upper(), time.monotonic())
        _wake()
    return EmptyResult()


def _record_lifecycle_action_heartbeat(self: AutoScalingResponse) -> EmptyResult:
    with lock:
        state, hook_name = _lifecycle_action(self)
        hook = state._sandbox_term["hooks"][hook_name]
        hook["deadline"] = time.monotonic() + hook["timeout"]
    return EmptyResult()


AutoScalingResponse.complete_lifecycle_action = _complete_lifecycle_action
AutoScalingResponse.record_lifecycle_action_heartbeat = _record_lifecycle_action_heartbeat


# Every Auto Scaling request runs under the lock, so the timer never changes a group's instance
# list while a request reads or rebuilds it.
_orig_call_action = AutoScalingResponse.call_action


def _call_action(self: AutoScalingResponse) -> Any:
    with lock:
        return _orig_call_action(self)


AutoScalingResponse.call_action = _call_action


# --- Reset forgets pending terminations --------------------------------------------------------
_orig_api_reset = MotoAPIBackend.reset


def _api_reset(self: Any) -> None:
    with lock:
        _orig_api_reset(self)
        _pending.clear()


MotoAPIBackend.reset = _api_reset
