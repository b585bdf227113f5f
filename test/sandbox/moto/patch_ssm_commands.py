"""SSM Run Command that the TFE node simulator really carries out (imported by server.py; server.py
calls handle() for its /_sandbox/ endpoints).

    POST /_sandbox/ssm/agents   {"i-123": true, "i-456": false, ...}: whose SSM agent is online
                                (merged per instance; answers the whole map). An instance never
                                named is offline. GET answers the map.
    GET  /_sandbox/ssm/pending  [{commandId, instanceId, documentName, commands: [...],
                                executionTimeout: seconds or null}] for every Pending invocation of
                                an instance whose agent is online; each is InProgress from then on
                                (the agent fetched it).
    POST /_sandbox/ssm/result   {commandId, instanceId, status: "Success"|"Failed"|"TimedOut",
                                responseCode, stdout, stderr}: how the invocation ended.

Everything here is cleared by POST /moto-api/reset (the commands with moto's SSM backend, the
agents map here). Each patch names the moto (5.2.1) function it changes and what AWS does instead.
Sources: the SSM API reference (SendCommand, GetCommandInvocation, ListCommandInvocations,
Command, CommandInvocation, CommandPlugin; botocore's ssm service-2.json has the same shapes,
enums and length limits) and "Understanding command statuses" in the Systems Manager user guide.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

from wsgi_json import json_response

from moto.core.responses import ActionResult
from moto.moto_api._internal.models import MotoAPIBackend
from moto.ssm import models as ssm_models
from moto.ssm.exceptions import SSMException
from moto.ssm.responses import SimpleSystemManagerResponse

_lock = threading.RLock()
_agents: dict[str, bool] = {}  # instance id -> SSM agent online (what the simulator said)

PLUGIN = "aws:runShellScript"
TERMINAL = ("Success", "Failed", "TimedOut", "Cancelled")
# AWS: StandardOutputContent is "the first 24,000 characters written by the plugin to stdout",
# StandardErrorContent "the first 8,000 characters ... to stderr" (GetCommandInvocation; the
# service model's StandardOutputContent max 24000, StandardErrorContent max 8000); a plugin's
# Output in ListCommandInvocations (Details true) is at most 2,500 (CommandPluginOutput max 2500).
STDOUT_MAX, STDERR_MAX, PLUGIN_OUTPUT_MAX = 24000, 8000, 2500
# AWS-RunShellScript's parameter executionTimeout defaults to "3600" (seconds) in the document.
RUN_SHELL_DEFAULT_TIMEOUT = 3600
# StatusDetails as the API spells them (Status TimedOut -> "ExecutionTimedOut").
_DETAILS = {"Pending": "Pending", "InProgress": "InProgress", "Success": "Success", "Failed": "Failed", "TimedOut": "ExecutionTimedOut"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.isoformat()


def _elapsed(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    secs = ((end or _now()) - start).total_seconds()
    return f"PT{secs:.3f}S"


# --- Command: invocations start Pending --------------------------------------------------------
# moto's Command.__init__ sets status "Success", CompletedCount = TargetCount, and every invocation
# (Command.invocation_response) "Success" with ResponseCode 0 and a made-up 5 minute run: nothing
# ever runs. AWS: a new command is Pending, each invocation Pending with ResponseCode -1 ("the
# command hasn't started running on the managed node") and empty start/end times until the SSM
# agent picks it up (InProgress) and reports its end (Success / Failed / TimedOut).
_orig_command_init = ssm_models.Command.__init__


def _command_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _orig_command_init(self, *args, **kwargs)
    self._sandbox = {
        iid: {"status": "Pending", "code": -1, "start": None, "end": None, "stdout": "", "stderr": ""}
        for iid in self.instance_ids
    }
    _aggregate(self)


def _aggregate(cmd: Any) -> None:
    """The command's Status, CompletedCount and ErrorCount from its invocations (AWS: CompletedCount
    counts invocations in a terminal state; ErrorCount those Failed or Execution Timed Out; the
    command is Success once every invocation ended and the errors did not exceed MaxErrors)."""
    states = [inv["status"] for inv in cmd._sandbox.values()]
    cmd.completed_count = sum(1 for s in states if s in TERMINAL)
    errors = [s for s in states if s in ("Failed", "TimedOut")]
    cmd.error_count = len(errors)
    cmd.target_count = len(states)
    if states and all(s == "Pending" for s in states):
        status = "Pending"
    elif any(s not in TERMINAL for s in states):
        status = "InProgress"
    elif len(errors) > _max_errors(cmd.max_errors, len(states)):
        status = "TimedOut" if all(s == "TimedOut" for s in errors) else "Failed"
    else:
        status = "Success"
    cmd.status = status
    cmd.status_details = _DETAILS.get(status, status)
    cmd.invocations = [_invocation(cmd, iid) for iid in cmd._sandbox]


def _max_errors(value: Any, targets: int) -> int:
    text = str(value or "0").strip()
    try:
        if text.endswith("%"):
            return int(targets * float(text[:-1]) / 100)
        return int(text)
    except ValueError:
        return 0


def _invocation(cmd: Any, iid: str) -> dict[str, Any]:
    """GetCommandInvocation's answer (its times are ISO 8601 strings, empty until they happen)."""
    inv = cmd._sandbox[iid]
    return {
        "CommandId": cmd.command_id,
        "InstanceId": iid,
        "Comment": cmd.comment,
        "DocumentName": cmd.document_name,
        "DocumentVersion": "$DEFAULT",
        "PluginName": PLUGIN,
        "ResponseCode": inv["code"],
        "ExecutionStartDateTime": _iso(inv["start"]),
        "ExecutionElapsedTime": _elapsed(inv["start"], inv["end"]),
        "ExecutionEndDateTime": _iso(inv["end"]),
        "Status": inv["status"],
        "StatusDetails": _DETAILS.get(inv["status"], inv["status"]),
        "StandardOutputContent": inv["stdout"][:STDOUT_MAX],
        "StandardOutputUrl": "",
        "StandardErrorContent": inv["stderr"][:STDERR_MAX],
        "StandardErrorUrl": "",
    }


def _get_invocation(self: Any, instance_id: str, plugin_name: str | None) -> dict[str, Any]:
    # moto's Command.get_invocation returns the stored (always "Success") dict; now the live one.
    # The InvocationDoesNotExist error is moto's own (AWS answers the same code).
    if instance_id not in self._sandbox or (plugin_name is not None and plugin_name != PLUGIN):
        raise SSMException("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation")
    with _lock:
        return _invocation(self, instance_id)


ssm_models.Command.__init__ = _command_init
ssm_models.Command.get_invocation = _get_invocation


# --- SendCommand: only to instances whose SSM agent is online -----------------------------------
# moto's SimpleSystemManagerBackend.send_command accepts any instance id. AWS refuses the whole
# request with InvalidInstanceId (HTTP 400) when a named managed node's agent is not running or not
# registered, or the instance is shutting down or terminated (SSM API reference, InvalidInstanceId).
# The message, as AWS answers it (e.g. aws/aws-cli#3646, aws-samples/eks-security-compromised-
# cluster-remediation#12, peterkimzz/aws-ssm-send-command#23):
#   "Instances [[i-00903e1796f3b1cb6]] not in a valid state for account 775288309636"
_orig_send_command = ssm_models.SimpleSystemManagerBackend.send_command


def _send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
    ids = kwargs.get("instance_ids") or []
    with _lock:
        offline = [i for i in ids if not _agents.get(i)]
    if offline:
        raise SSMException("InvalidInstanceId", f"Instances [[{', '.join(offline)}]] not in a valid state for account {self.account_id}")
    with _lock:
        return _orig_send_command(self, *args, **kwargs)


ssm_models.SimpleSystemManagerBackend.send_command = _send_command


# --- ListCommandInvocations ---------------------------------------------------------------------
# Not implemented in moto 5.2.1 (no list_command_invocations in SimpleSystemManagerResponse: the
# call fails). AWS: the invocations of a command (CommandId) and/or of a managed node (InstanceId);
# with Details true each carries its CommandPlugins (status, response code, times, Output: the
# first 2,500 characters), with Details false (the default) CommandPlugins is empty.
def _list_command_invocations(self: SimpleSystemManagerResponse) -> ActionResult:
    command_id = self._get_param("CommandId")
    instance_id = self._get_param("InstanceId")
    details = bool(self._get_param("Details", False))
    backend = self.ssm_backend
    commands = [backend.get_command_by_id(command_id)] if command_id else list(backend._commands)
    out = []
    with _lock:
        for cmd in commands:
            for iid, inv in cmd._sandbox.items():
                if instance_id and iid != instance_id:
                    continue
                status = inv["status"]
                entry = {
                    "CommandId": cmd.command_id,
                    "InstanceId": iid,
                    "InstanceName": "",
                    "Comment": cmd.comment,
                    "DocumentName": cmd.document_name,
                    "DocumentVersion": "$DEFAULT",
                    "RequestedDateTime": cmd.requested_date_time,
                    "Status": status,
                    "StatusDetails": _DETAILS.get(status, status),
                    "TraceOutput": "",
                    "StandardOutputUrl": "",
                    "StandardErrorUrl": "",
                    "CommandPlugins": [],
                    "ServiceRole": cmd.service_role_arn,
                }
                if details:
                    output = inv["stdout"] + (f"\n----------ERROR-------\n{inv['stderr']}" if inv["stderr"] else "")
                    plugin = {
                        "Name": PLUGIN,
                        "Status": status,
                        "StatusDetails": _DETAILS.get(status, status),
                        "ResponseCode": inv["code"],
                        "Output": output[:PLUGIN_OUTPUT_MAX],
                        "StandardOutputUrl": "",
                        "StandardErrorUrl": "",
                        "OutputS3Region": cmd.output_s3_region,
                        "OutputS3BucketName": cmd.output_s3_bucket_name,
                        "OutputS3KeyPrefix": cmd.output_s3_key_prefix,
                    }
                    if inv["start"] is not None:
                        plugin["ResponseStartDateTime"] = inv["start"]
                    if inv["end"] is not None:
                        plugin["ResponseFinishDateTime"] = inv["end"]
                    entry["CommandPlugins"] = [plugin]
                out.append(entry)
    return ActionResult({"CommandInvocations": out})


SimpleSystemManagerResponse.list_command_invocations = _list_command_invocations


# --- Reset -----------------------------------------------------------------------------------
_orig_api_reset = MotoAPIBackend.reset


def _api_reset(self: Any) -> None:
    _orig_api_reset(self)  # drops moto's SSM backends, and with them every command
    with _lock:
        _agents.clear()


MotoAPIBackend.reset = _api_reset


# --- /_sandbox/ssm/ endpoints -------------------------------------------------------------------
def _all_commands() -> list[Any]:
    out = []
    for account in list(ssm_models.ssm_backends.keys()):
        for region in list(ssm_models.ssm_backends[account].keys()):
            out.extend(ssm_models.ssm_backends[account][region]._commands)
    return out


def _find(command_id: str) -> Any:
    return next((c for c in _all_commands() if c.command_id == command_id), None)


def _execution_timeout(cmd: Any) -> int | None:
    raw = (cmd.parameters or {}).get("executionTimeout")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if raw is None or str(raw).strip() == "":
        return RUN_SHELL_DEFAULT_TIMEOUT if cmd.document_name == "AWS-RunShellScript" else None
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def _read_json(environ: dict[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return json.loads(environ["wsgi.input"].read(length) or b"{}")


def handle(path: str, method: str, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """Answers this module's /_sandbox/ssm/ endpoints; None for any other path."""
    if path == "/_sandbox/ssm/agents":
        if method == "POST":
            try:
                body = _read_json(environ)
                if not isinstance(body, dict) or not all(isinstance(v, bool) for v in body.values()):
                    raise ValueError('body must be an object of instance id -> true|false')
            except ValueError as err:
                return json_response(start_response, "400 Bad Request", {"error": str(err)})
            with _lock:
                _agents.update({str(k): v for k, v in body.items()})
        elif method != "GET":
            return json_response(start_response, "405 Method Not Allowed", {"error": f"{method} {path}"})
        with _lock:
            return json_response(start_response, "200 OK", dict(_agents))
    if path == "/_sandbox/ssm/pending" and method == "GET":
        out = []
        with _lock:
            for cmd in _all_commands():
                touched = False
                for iid, inv in cmd._sandbox.items():
                    if inv["status"] != "Pending" or not _agents.get(iid):
                        continue
                    inv["status"] = "InProgress"
                    inv["start"] = _now()
                    touched = True
                    commands = (cmd.parameters or {}).get("commands") or []
                    out.append({
                        "commandId": cmd.command_id,
                        "instanceId": iid,
                        "documentName": cmd.document_name,
                        "commands": [str(c) for c in (commands if isinstance(commands, list) else [commands])],
                        "executionTimeout": _execution_timeout(cmd),
                    })
                if touched:
                    _aggregate(cmd)
        return json_response(start_response, "200 OK", out)
    if path == "/_sandbox/ssm/result" and method == "POST":
        try:
            body = _read_json(environ)
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            status = body.get("status")
            if status not in ("Success", "Failed", "TimedOut"):
                raise ValueError('status must be "Success", "Failed" or "TimedOut"')
            command_id, instance_id = str(body.get("commandId")), str(body.get("instanceId"))
        except ValueError as err:
            return json_response(start_response, "400 Bad Request", {"error": str(err)})
        with _lock:
            cmd = _find(command_id)
            inv = cmd._sandbox.get(instance_id) if cmd is not None else None
            if inv is None:
                return json_response(start_response, "404 Not Found", {"error": f"no invocation of command {command_id} on {instance_id}"})
            if inv["status"] in TERMINAL:
                return json_response(start_response, "409 Conflict", {"error": f"invocation already ended: {inv['status']}"})
            if inv["start"] is None:
                inv["start"] = _now()
            inv["status"] = status
            inv["end"] = _now()
            code = body.get("responseCode")
            inv["code"] = int(code) if isinstance(code, (int, float)) else (0 if status == "Success" else 1)
            inv["stdout"] = str(body.get("stdout") or "")
            inv["stderr"] = str(body.get("stderr") or "")
            _aggregate(cmd)
            return json_response(start_response, "200 OK", _invocation_json(cmd, instance_id))
    return None


def _invocation_json(cmd: Any, iid: str) -> dict[str, Any]:
    inv = _invocation(cmd, iid)
    return {**inv, "CommandStatus": cmd.status}
