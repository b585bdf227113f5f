"""ElastiCache rules moto 5.2.1 does not enforce (imported by server.py, after its own patches).

Each patch names the moto function it changes and the AWS behaviour it reproduces.
"""

from __future__ import annotations

import re
from typing import Any

from moto.elasticache import models as ec_models
from moto.elasticache.exceptions import (
    ElastiCacheException,
    InvalidParameterValueException,
    ReplicationGroupNotFound,
)
from moto.elasticache.responses import ElastiCacheResponse


class InvalidReplicationGroupState(ElastiCacheException):
    # Wire code InvalidReplicationGroupState, HTTP 400 (the SDKs' InvalidReplicationGroupStateFault).
    code = "InvalidReplicationGroupState"


# --- Tagging a replication group that is not "available" -------------------------------
# ElastiCacheBackend.list_tags_for_resource / add_tags_to_resource / remove_tags_from_resource
# answer for any ARN that matches moto's pattern, whatever the group's state, and even for a
# group that no longer exists. AWS (API reference, ListTagsForResource: "If the cluster is not
# in the available state, ListTagsForResource returns an error") answers
#   InvalidReplicationGroupState: Cluster not in available state to perform tagging operations.
# (HTTP 400; the exact text as AWS returns it, quoted in hashicorp/terraform-provider-aws
# issues #30444 and #33859 and PR #44811, for both listing and changing tags), and
# ReplicationGroupNotFoundFault for a group that does not exist (listed among the errors of all
# three actions). The group's status includes server.py's "creating" delay.
# DeleteReplicationGroup also dropped the group but kept its tags, so a group created again
# under the same id inherited them (AWS deletes a resource's tags with it): they go now.
_RG_ARN = re.compile(r"^arn:[^:]+:elasticache:[^:]*:[0-9]*:replicationgroup:(.+)$")


def _check_taggable(backend: Any, arn: str) -> None:
    m = _RG_ARN.match(arn or "")
    if not m:
        return
    group = backend.replication_groups.get(m.group(1))
    if group is None:
        raise ReplicationGroupNotFound(m.group(1))
    if group.status != "available":
        raise InvalidReplicationGroupState("Cluster not in available state to perform tagging operations.")


def _guard_tagging(name: str) -> None:
    original = getattr(ec_models.ElastiCacheBackend, name)

    def guarded(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        _check_taggable(self, arn)
        return original(self, arn, *args, **kwargs)

    guarded.__name__ = name
    setattr(ec_models.ElastiCacheBackend, name, guarded)


for _name in ("list_tags_for_resource", "add_tags_to_resource", "remove_tags_from_resource"):
    _guard_tagging(_name)

_orig_rg_delete = ec_models.ElastiCacheBackend.delete_replication_group


def _rg_delete(self: Any, replication_group_id: str, retain_primary_cluster: Any) -> Any:
    group = _orig_rg_delete(self, replication_group_id, retain_primary_cluster)
    self.tagging_service.delete_all_tags_for_resource(group.arn)
    return group


ec_models.ElastiCacheBackend.delete_replication_group = _rg_delete


# --- AuthToken rules on CreateReplicationGroup and ModifyReplicationGroup ----------------
# ElastiCacheResponse.create_replication_group (moto) and .modify_replication_group (ours, in
# server.py) take any AuthToken. AWS (API reference, CreateReplicationGroup / ModifyReplicationGroup,
# AuthToken: "Must be only printable ASCII characters. Must be at least 16 characters and no
# more than 128 characters in length. The only permitted printable special characters are !,
# &, #, $, ^, <, >, and -. Other printable special characters cannot be used in the AUTH token.")
# refuses any other token with
#   InvalidParameterValue: Invalid AuthToken provided.
# (HTTP 400; the text as AWS returns it, quoted in magenx/Magento-2-aws-cluster-terraform
# issue #43 and awsdocs/aws-cloudformation-user-guide PR #1168). A space is a printable
# special character too, so it is refused.
_AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>\-]{16,128}")


def check_auth_token(token: str | None) -> None:
    if token is not None and not _AUTH_TOKEN.fullmatch(token):
        raise InvalidParameterValueException("Invalid AuthToken provided.")


def _guard_auth_token(name: str) -> None:
    original = getattr(ElastiCacheResponse, name)

    def guarded(self: ElastiCacheResponse) -> Any:
        check_auth_token(self._get_param("AuthToken"))
        return original(self)

    guarded.__name__ = name
    setattr(ElastiCacheResponse, name, guarded)


for _name in ("create_replication_group", "modify_replication_group"):
    _guard_auth_token(_name)
