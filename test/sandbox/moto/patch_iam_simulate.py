"""iam:SimulatePrincipalPolicy, which moto 5.2 does not implement (imported by server.py).

AWS: "Simulate how a set of IAM policies attached to an IAM entity works with a list of API
operations and AWS resources to determine the policies' effective permissions" (IAM API
reference, SimulatePrincipalPolicy). The operator calls it to learn, before any node boots,
whether the TFE nodes' instance profile role may read the secrets it stores for them.

Added: IamResponse.simulate_principal_policy (moto/iam/responses.py dispatches an action to the
method of its snake_case name). For PolicySourceArn naming a role or a user, it evaluates every
ActionNames x ResourceArns pair against the entity's inline and attached managed policies (for a
user also its groups'), with the same evaluation as patch_iam_sessions (an explicit Deny wins,
else an Allow is needed; Conditions that do not hold skip the statement), and answers
EvaluationResults with EvalDecision "allowed", "explicitDeny" or "implicitDeny", as AWS does.
Not modelled: PolicyInputList, PermissionsBoundaryPolicyInputList, ResourcePolicy, context
entries, paging (IsTruncated is always false), MatchedStatements.
An unknown entity answers NoSuchEntity, as AWS does; ActionNames is required (1 or more).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.iam.exceptions import NoSuchEntity
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse

from patch_iam_sessions import _evaluate

_DECISION = {"allow": "allowed", "deny": "explicitDeny", "none": "implicitDeny"}


def _entity_policies(backend: Any, arn: str) -> list[Any]:
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]  # a path may come before the name
    if kind == "role":
        backend.get_role_by_arn(arn)  # NoSuchEntity when there is none
        inline = [backend.get_role_policy(name, p)[1] for p in backend.list_role_policies(name)]
        attached, _ = backend.list_attached_role_policies(name)
        return inline + list(attached)
    if kind == "user":
        backend.get_user(name)
        inline = [backend.get_user_policy(name, p) for p in backend.list_user_policies(name)]
        attached, _ = backend.list_attached_user_policies(name)
        policies = inline + list(attached)
        for group in backend.get_groups_for_user(name):
            policies += [backend.get_group_policy(group.name, p) for p in backend.list_group_policies(group.name)]
            policies += list(backend.list_attached_group_policies(group.name)[0])
        return policies
    raise NoSuchEntity(f"The entity {arn} cannot be found.")


def simulate_principal_policy(self: IamResponse) -> ActionResult:
    arn = self._get_param("PolicySourceArn")
    actions = self._get_param("ActionNames", [])
    resources = self._get_param("ResourceArns", []) or ["*"]
    backend = iam_backends[self.current_account][self.partition]
    policies = _entity_policies(backend, arn)
    results = []
    for action in actions:
        for resource in resources:
            decision = _evaluate(policies, action, resource, {})
            results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": _DECISION[decision]})
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
