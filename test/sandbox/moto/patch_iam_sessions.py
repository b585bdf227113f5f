"""IAM for role sessions: credentials from moto's STS AssumeRole are held to the role's policies
(imported by server.py).

moto checks IAM only when told to for every caller (INITIAL_NO_AUTH_ACTION_COUNT, off by
default in the server), and then it also holds the sandbox's root credentials ("testing", which
is no IAM user) to policies. Here the check runs for exactly one kind of caller: a request
signed with an access key that starts with ASIA (what STS hands out, e.g. to an EC2 instance
profile's role: the TFE nodes of the simulator run the AWS CLI with those). Every other caller
stays unrestricted, as before.

Patched: ActionAuthenticatorMixin._authenticate_and_authorize_action (moto/core/authorization.py,
which BaseResponse.call_action and the S3 responses call before every action). For ASIA keys it
builds moto's own IAMRequest / S3IAMRequest (moto/iam/access_control.py): the signature is
checked with the session's secret (SignatureDoesNotMatch / AuthFailure), an unknown key or token
answers InvalidClientTokenId ("The security token included in the request is invalid.", EC2:
AuthFailure), an expired session ExpiredToken / ExpiredTokenException ("The security token
included in the request is expired"). The action is then evaluated against the assumed role's
inline and attached managed policies and, when AssumeRole was given a Policy, that session
policy too (IAM's evaluation logic: an explicit Deny wins, else an Allow is needed).

Two evaluation fixes over moto's IAMRequestBase.check_action_permitted: a statement whose
Condition does not hold is skipped (moto turned it into an explicit deny, Allow statements
included), and the resource is the one the action is on, not "*", where it matters for the
nodes (Secrets Manager: SecretId -> the secret's ARN, or the ARN its name would have when no such secret;
KMS: KeyId -> the key's ARN), so a policy scoped to a secret ARN or to "...:secret:tfe/license-*"
works. Other actions are evaluated on "*" (STS, IAM and S3 keep moto's own resources).

A denied call answers like AWS (texts as AWS returns them, e.g. in mongodb/awscdk-resources-
mongodbatlas issue #207, binbashar/le-tf-infra-aws PR #874, AWS re:Post "decode ... 'You are not
authorized to perform this operation' errors for Amazon EC2"):
  JSON protocols (Secrets Manager, KMS, SSM, ...): HTTP 400 AccessDeniedException
  REST-JSON protocols: HTTP 403 AccessDeniedException
  Query protocols (Auto Scaling, ElastiCache, ELBv2, IAM, STS): HTTP 403 AccessDenied
  EC2: HTTP 403 UnauthorizedOperation "You are not authorized to perform this operation. User: ..."
  S3: moto's S3 AccessDenied ("Access Denied")
with the message
  User: arn:aws:sts::123456789012:assumed-role/ROLE/SESSION is not authorized to perform:
  secretsmanager:GetSecretValue on resource: ARN because no identity-based policy allows the
  secretsmanager:GetSecretValue action
("on resource: ..." only when the resource is not "*"; "with an explicit deny in an
identity-based policy" for a Deny; "because no session policy allows ..." when only the session
policy is missing the Allow).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from werkzeug.exceptions import HTTPException

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.utils import get_service_model
from moto.iam.access_control import (
    IAMPolicy,
    IAMPolicyStatement,
    IAMRequest,
    PermissionResult,
    S3IAMRequest,
)
from moto.iam.utils import format_incoming_conditional_values
from moto.sts.models import sts_backends


class _AuthError(HTTPException):
    """An error answered before the action runs (BaseResponse.call_action sends .description with .code)."""

    def __init__(self, status: int, body: str, content_type: str) -> None:
        super().__init__()
        self.code = status
        self.description = body
        self.content_type = content_type

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type)]

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.description or ""


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _error(protocol: str, code: str, message: str, status: dict[str, int]) -> _AuthError:
    """code/message shaped as the service's protocol carries errors. status: per protocol family."""
    if protocol == "json":
        return _AuthError(status["json"], json.dumps({"__type": code, "message": message}), "application/x-amz-json-1.1")
    if protocol == "rest-json":
        return _AuthError(status["rest-json"], json.dumps({"__type": code, "message": message, "Message": message}), "application/json")
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{_xml_escape(message)}</Message></Error></Errors><RequestID>0</RequestID></Response>")
        return _AuthError(status["ec2"], body, "text/xml")
    body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml_escape(message)}</Message>'
            f"</Error><RequestId>0</RequestId></ErrorResponse>")
    return _AuthError(status["query"], body, "text/xml")


_DENIED_STATUS = {"json": 400, "rest-json": 403, "ec2": 403, "query": 403}
_TOKEN_STATUS = {"json": 400, "rest-json": 403, "ec2": 401, "query": 403}


def _protocol(response: Any) -> str:
    try:
        return str(get_service_model(response.boto3_service_name).metadata.get("protocol", "query"))
    except Exception:
        return "json" if response.headers.get("X-Amz-Target") else "query"


class _SessionChecks:
    """Mixed into moto's IAMRequest / S3IAMRequest for ASIA callers."""

    _response: Any

    def _protocol_name(self) -> str:
        return _protocol(self._response)

    def _raise_invalid_access_key(self, reason: str) -> None:  # type: ignore[override]
        if isinstance(self, S3IAMRequest):
            S3IAMRequest._raise_invalid_access_key(self, reason)
        protocol = self._protocol_name()
        if protocol == "ec2":
            raise _error("ec2", "AuthFailure", "AWS was not able to validate the provided access credentials", _TOKEN_STATUS)
        code = "UnrecognizedClientException" if protocol == "json" else "InvalidClientTokenId"
        raise _error(protocol, code, "The security token included in the request is invalid.", _TOKEN_STATUS)

    def _raise_signature_does_not_match(self) -> None:  # type: ignore[override]
        if isinstance(self, S3IAMRequest):
            S3IAMRequest._raise_signature_does_not_match(self)
        protocol = self._protocol_name()
        if protocol == "ec2":
            raise _error("ec2", "AuthFailure", "AWS was not able to validate the provided access credentials", _TOKEN_STATUS)
        code = "InvalidSignatureException" if protocol in ("json", "rest-json") else "SignatureDoesNotMatch"
        raise _error(protocol, code, "The request signature we calculated does not match the signature you provided. "
                     "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
                     _TOKEN_STATUS)

    def check_not_expired(self) -> None:
        key = self._access_key  # type: ignore[attr-defined]
        backend = sts_backends[key.account_id][key.partition]
        role = next((r for r in backend.assumed_roles if r.access_key_id == key._access_key_id), None)
        if role is None or role.expiration.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc):
            return
        if isinstance(self, S3IAMRequest):
            S3IAMRequest._raise_invalid_access_key(self, "InvalidToken")
        protocol = self._protocol_name()
        code = "ExpiredTokenException" if protocol in ("json", "rest-json") else "ExpiredToken"
        raise _error(protocol, code, "The security token included in the request is expired", {**_TOKEN_STATUS, "ec2": 400, "query": 400})

    def session_policy(self) -> str | None:
        key = self._access_key  # type: ignore[attr-defined]
        backend = sts_backends[key.account_id][key.partition]
        role = next((r for r in backend.assumed_roles if r.access_key_id == key._access_key_id), None)
        return role.policy if role is not None and role.policy else None

    def check_action_permitted(self, resource: str) -> None:  # type: ignore[override]
        action = self._action  # type: ignore[attr-defined]
        if action == "sts:GetCallerIdentity":  # always allowed, even with an explicit Deny (as moto and AWS)
            return
        values = format_incoming_conditional_values(self._data)  # type: ignore[attr-defined]
        decision = _evaluate(self._access_key.collect_policies(), action, resource, values)  # type: ignore[attr-defined]
        if decision == "deny":
            self._deny(resource, "with an explicit deny in an identity-based policy")
        if decision != "allow":
            self._deny(resource, f"because no identity-based policy allows the {action} action")
        session = self.session_policy()
        if session is not None:
            decision = _evaluate([session], action, resource, values)
            if decision == "deny":
                self._deny(resource, "with an explicit deny in a session policy")
            if decision != "allow":
                self._deny(resource, f"because no session policy allows the {action} action")
        if self._is_assuming_role_operation(resource) and not self._check_role_trust_relationship(resource):  # type: ignore[attr-defined]
            self._deny(resource, "")

    def _deny(self, resource: str, why: str) -> None:
        if isinstance(self, S3IAMRequest):
            self._raise_access_denied()  # moto's S3 AccessDenied ("Access Denied")
        action = self._action  # type: ignore[attr-defined]
        on = f" on resource: {resource}" if resource and resource != "*" else ""
        message = f"User: {self._access_key.arn} is not authorized to perform: {action}{on}"  # type: ignore[attr-defined]
        if why:
            message += f" {why}"
        protocol = self._protocol_name()
        if protocol == "ec2":
            raise _error("ec2", "UnauthorizedOperation", f"You are not authorized to perform this operation. {message}", _DENIED_STATUS)
        code = "AccessDeniedException" if protocol in ("json", "rest-json") else "AccessDenied"
        raise _error(protocol, code, message, _DENIED_STATUS)


class _SessionIAMRequest(_SessionChecks, IAMRequest):
    pass


class _SessionS3IAMRequest(_SessionChecks, S3IAMRequest):
    pass


def _evaluate(policies: list[Any], action: str, resource: str, values: dict[str, Any]) -> str:
    """"deny" (an explicit Deny applies), "allow" (an Allow applies and no Deny) or "none"."""
    allowed = False
    for policy in policies:
        document = IAMPolicy(policy)._policy_json
        statements = document.get("Statement", [])
        for raw in statements if isinstance(statements, list) else [statements]:
            statement = IAMPolicyStatement(raw)
            if raw.get("Condition") and not statement._check_conditions(values):
                continue  # the statement does not apply (moto: an explicit deny)
            result = statement.is_action_permitted(action, resource, None, values)
            if result == PermissionResult.DENIED:
                return "deny"
            if result == PermissionResult.PERMITTED:
                allowed = True
    return "allow" if allowed else "none"


def _resource(response: Any, default: str) -> str:
    """The ARN the action is on, where it matters for identity policies scoped to resources."""
    if default != "*":
        return default
    service = getattr(response, "service_name", None)
    try:
        if service == "secretsmanager":
            secret_id = response._get_param("SecretId")
            if not secret_id:
                return default
            from moto.secretsmanager.models import secretsmanager_backends

            secret = secretsmanager_backends[response.current_account][response.region].secrets.get(secret_id)
            if secret is not None:
                return secret.arn
            # No such secret: AWS authorizes against the ARN the name would have (it cannot know the
            # random suffix), so a role allowed "...:secret:sim/*" gets ResourceNotFoundException for
            # a missing sim/x, and AccessDeniedException only outside what it may read.
            if secret_id.startswith("arn:"):
                return secret_id
            return f"arn:{response.partition}:secretsmanager:{response.region}:{response.current_account}:secret:{secret_id}"
        if service == "kms":
            key_id = response._get_param("KeyId")
            if not key_id:
                return default
            from moto.kms.models import kms_backends

            key = kms_backends[response.current_account][response.region].describe_key(key_id)
            return key.arn
    except Exception:
        return default
    return default


def _access_key_id(headers: Any) -> str:
    auth = headers.get("Authorization") or ""
    if "Credential=" not in auth:
        return ""
    return auth.split("Credential=", 1)[1].split("/", 1)[0].strip()


_orig_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    if not _access_key_id(self.headers).startswith("ASIA"):
        return _orig_authorize(self, iam_request_cls, resource)  # unrestricted unless moto's own switch is on
    if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return None
    cls = _SessionS3IAMRequest if issubclass(iam_request_cls, S3IAMRequest) else _SessionIAMRequest
    parsed = urlparse(self.uri)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    # IAMRequestBase.__init__ may already raise (unknown key/token): give it the response first.
    request = cls.__new__(cls)
    request._response = self
    cls.__init__(request, account_id=self.current_account, method=self.method, path=path, data=self.data,
                 body=self.raw_body, headers=self.headers, action=self._get_action())
    request.check_signature()
    request.check_not_expired()
    request.check_action_permitted(_resource(self, resource))
    return None


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action



# --- IAM and STS ids from a stream of their own -----------------------------------------------
# moto.iam.utils and moto.sts.utils draw every generated id (access key ids, secrets, role and
# policy ids) from moto's one seeded `mock_random`. The simulator calls STS AssumeRole for its
# nodes at moments that depend on timing, so each session shifted every id drawn after it
# (replication group endpoints, instance ids): seeded runs stopped repeating. IAM and STS now
# draw from a Random of their own, seeded with mock_random by POST /moto-api/seed, so the
# other services' ids are the same whatever the nodes do, and IAM's own are as repeatable as
# the IAM calls are.
import random as _random  # noqa: E402

import moto.iam.utils as _iam_utils  # noqa: E402
import moto.sts.utils as _sts_utils  # noqa: E402
from moto.moto_api._internal import mock_random as _mock_random  # noqa: E402

_iam_sts_random = _random.Random()
_iam_utils.random = _iam_sts_random  # type: ignore[assignment]
_sts_utils.random = _iam_sts_random  # type: ignore[assignment]
_orig_seed = _mock_random.seed


def _seed(a: Any = None, version: int = 2) -> None:
    _orig_seed(a, version)
    _iam_sts_random.seed(f"iam-sts:{a}", version)


_mock_random.seed = _seed  # type: ignore[method-assign]
